"""One community on two platforms at once, served by one real `community-bot run` process.

`community_on` starts the process with the web chat and the other platform a test is
parametrized with (Matrix on the suite's real Synapse, or the fake Slack), its `[community]
spaces` naming the web chat's `main` room and a space on the other platform that the people
named by `there` are in (all six unless a test module narrows it). People act as they
would: on the web chat through its HTTP API, on the other platform through a `Side`; tests
wait, with deadlines, for what the bot does there, never by sleeping.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest

from adapters.matrix.translate import WORD_JOINER
from tests.bot_process import bot_process
from tests.matrix.fixtures import BOT_USER, MEMBER_USERS
from tests.matrix.people import Event, Person, person, sent_by
from tests.slack.community import PEOPLE as SLACK_PEOPLE
from tests.slack.fake_slack import APP_TOKEN, BOT_TOKEN, GENERAL, FakeSlack, plain
from tests.synapse import MatrixUser, SynapseServer
from tests.webchat_client import ChatClient

BOT = "community-bot"
"""The bot's name in the web chat."""
WEB_ROOM = "main"
NAMES = MEMBER_USERS
"""alice, bob, carol, dave, erin, frank: on the web chat and on the other platform alike."""
MATRIX_TOKEN_ENV = "COMMUNITY_TEST_MATRIX_TOKEN"
DEADLINE_S = 60.0
"""The longest wait for anything the bot does: generous, for a machine shared and loaded
(a wait ends as soon as what it waits for is there)."""


class Side(Protocol):
    """The community's other platform, as its members use it."""

    platform: str
    space: str
    """The community space there (a Matrix room id, a Slack channel id)."""

    ping: str
    """What pings everyone in a space there, written as a person would."""

    def user_id(self, name: str) -> str: ...

    async def say(
        self, name: str, text: str, thread: str | None = None, space: str | None = None
    ) -> str:
        """`name` writes in the community space, or `space` (in a thread); the message's id."""

    async def edit(self, name: str, space: str, message_id: str, text: str) -> None:
        """`name` edits what they wrote."""

    async def command(self, name: str, text: str) -> None:
        """`name` gives the bot a command (`me link`, `checkin pass`) as typed there."""

    async def told(self, name: str, containing: str) -> str:
        """The text of the bot's private answer to `name` containing `containing`."""

    async def posted(self, containing: str) -> tuple[str, str]:
        """The bot's post in the community space containing `containing`: text, thread."""

    async def brought_into(self, name: str, containing: str) -> tuple[str, str]:
        """A space the bot brought `name` into (a breakout's room) once its message there
        contains `containing`: the space and that message's text."""

    async def heard(self, name: str, space: str, containing: str) -> tuple[str, bool]:
        """The bot's message in `space` containing `containing`, as `name` reads it, and
        whether it pings anyone."""

    def bot_texts(self, name: str, space: str, containing: str) -> list[str]:
        """The bot's messages in `space` containing `containing` that `name` has seen."""

    async def refuse_dms(self, name: str) -> str:
        """From now on the platform refuses, for good, the bot's direct messages to `name`
        (who can still speak in the community space); the error it answers with."""


@dataclass
class MatrixSide:
    """Members on real matrix-nio clients; the bot's DMs are accepted as they come."""

    people: dict[str, Person]
    room: str
    bot_id: str
    platform: str = "matrix"
    ping: str = "@room"
    refusing: set[str] = field(default_factory=set)

    @property
    def space(self) -> str:
        return self.room

    def user_id(self, name: str) -> str:
        return self.people[name].user_id

    async def say(
        self, name: str, text: str, thread: str | None = None, space: str | None = None
    ) -> str:
        return await self.people[name].say(space or self.room, text, thread)

    async def edit(self, name: str, space: str, message_id: str, text: str) -> None:
        await self.people[name].edit(space, message_id, text)

    async def command(self, name: str, text: str) -> None:
        await self.say(name, f"!{text}")

    async def told(self, name: str, containing: str) -> str:
        member = self.people[name]
        mine = sent_by(self.bot_id, containing=containing)

        def found() -> str | None:
            for room, events in member.timeline.items():
                said = next((e for e in events if room != self.room and mine(e)), None)
                if said is not None:
                    return str(said["content"]["body"])
            return None

        async with asyncio.timeout(DEADLINE_S):
            while (text := found()) is None:
                await self.accept_dms(name)
                await member.sync()
            return text

    async def accept_dms(self, name: str) -> None:
        """Join every direct room the bot invited `name` to (a member accepting its DM)."""
        member = self.people[name]
        for room, state in list(member.invites.items()):
            if any(e.get("sender") == self.bot_id for e in state):
                del member.invites[room]
                await member.client.join(room)

    async def posted(self, containing: str) -> tuple[str, str]:
        event = await next(iter(self.people.values())).wait_event(
            self.room, sent_by(self.bot_id, containing=containing), DEADLINE_S
        )
        return str(event["content"]["body"]), str(event["event_id"])

    async def brought_into(self, name: str, containing: str) -> tuple[str, str]:
        member = self.people[name]

        def shared(_room: str, state: list[Event]) -> bool:
            return any(
                e.get("type") == "m.room.member"
                and e.get("state_key") == member.user_id
                and e.get("sender") == self.bot_id
                and not (e.get("content") or {}).get("is_direct")
                for e in state
            )

        room = await member.accept_invite(shared)
        said = await member.wait_event(room, sent_by(self.bot_id, containing=containing))
        return room, str(said["content"]["body"])

    async def heard(self, name: str, space: str, containing: str) -> tuple[str, bool]:
        mine = sent_by(self.bot_id, containing=containing)
        event = await self.people[name].wait_event(space, mine, DEADLINE_S)
        body = str(event["content"]["body"])
        pings = self.ping in body or event["content"].get("m.mentions") != {"user_ids": []}
        return body.replace(WORD_JOINER, ""), pings

    def bot_texts(self, name: str, space: str, containing: str) -> list[str]:
        mine = sent_by(self.bot_id, containing=containing)
        return [str(e["content"]["body"]) for e in self.people[name].events(space, mine)]

    async def refuse_dms(self, name: str) -> str:
        """`name` refuses every invitation (MSC4380's `m.invite_permission_config`), so the
        bot cannot open a direct room with them (until `welcome_again`)."""
        await self._invitations(name, {"default_action": "block"})
        self.refusing.add(name)
        return "M_INVITE_BLOCKED"

    async def welcome_again(self) -> None:
        """Those who refused take invitations again: the accounts outlive the test (the
        homeserver is shared by the session's tests)."""
        for name in sorted(self.refusing):
            await self._invitations(name, {})
        self.refusing.clear()

    async def _invitations(self, name: str, config: dict[str, str]) -> None:
        client = self.people[name].client
        setting = f"/_matrix/client/v3/user/{client.user_id}/account_data/"
        async with httpx.AsyncClient(base_url=client.homeserver, timeout=10) as http:
            r = await http.put(
                setting + "m.invite_permission_config",
                json=config,
                headers={"Authorization": f"Bearer {client.access_token}"},
            )
        r.raise_for_status()


@dataclass
class SlackSide:
    """Members of the fake Slack's #general, as in the Slack ritual scenarios."""

    fake: FakeSlack
    platform: str = "slack"
    space: str = GENERAL
    ping: str = "<!channel>"

    def user_id(self, name: str) -> str:
        return SLACK_PEOPLE[name]

    async def say(
        self, name: str, text: str, thread: str | None = None, space: str | None = None
    ) -> str:
        return await self.fake.say(SLACK_PEOPLE[name], space or GENERAL, text, thread)

    async def edit(self, name: str, space: str, message_id: str, text: str) -> None:
        await self.fake.edit(SLACK_PEOPLE[name], space, message_id, text)

    async def command(self, name: str, text: str) -> None:
        word, _, rest = text.partition(" ")
        await self.fake.slash(
            SLACK_PEOPLE[name], GENERAL, "/cb-me" if word == "me" else f"/{word}", rest
        )

    async def told(self, name: str, containing: str) -> str:
        user = SLACK_PEOPLE[name]
        dm = self.fake.dm_channel(user)
        found = await self.fake.until(
            lambda: self.fake.ephemeral(user, containing) or self.fake.bot_message(dm, containing),
            DEADLINE_S,
        )
        return str(found["text"])

    async def posted(self, containing: str) -> tuple[str, str]:
        found = await self.fake.until(
            lambda: self.fake.bot_message(GENERAL, containing), DEADLINE_S
        )
        return str(found["text"]), str(found["ts"])

    async def brought_into(self, name: str, containing: str) -> tuple[str, str]:
        user = SLACK_PEOPLE[name]

        def found() -> tuple[str, str] | None:
            for channel in list(self.fake.channels.values()):
                said = self.fake.bot_message(channel.id, containing)
                if channel.is_private and user in channel.members and said is not None:
                    return channel.id, plain(said["text"])
            return None

        return await self.fake.until(found, DEADLINE_S)

    async def heard(self, name: str, space: str, containing: str) -> tuple[str, bool]:
        found = await self.fake.until(lambda: self.fake.bot_message(space, containing), DEADLINE_S)
        text = str(found["text"])
        return plain(text), self.ping in text

    def bot_texts(self, name: str, space: str, containing: str) -> list[str]:
        return [plain(t) for t in self.fake.texts(space) if containing in plain(t)]

    async def refuse_dms(self, name: str) -> str:
        self.fake.undirectable.add(SLACK_PEOPLE[name])
        return "channel_not_found"


@dataclass
class Community:
    """The running bot, its web chat (`web`) and the other platform (`other`)."""

    proc: asyncio.subprocess.Process
    web: ChatClient
    other: Side
    log: list[str] = field(default_factory=list)
    """The bot's log lines so far (its stderr, drained so it never blocks)."""

    async def web_says(self, name: str, text: str, thread: str | None = None) -> str:
        return await self.web.post(WEB_ROOM, name, text, thread=thread)

    async def web_told(self, name: str, containing: str, after: str = "0") -> dict[str, Any]:
        """The bot's private message to `name` on the web chat containing `containing`."""
        return await self.web.wait_for(
            f"@{name}", name, from_bot(containing), after=after, deadline=DEADLINE_S
        )

    async def web_posted(self, containing: str) -> dict[str, Any]:
        """The bot's message in the web chat's community room containing `containing`."""
        return await self.web.wait_for(WEB_ROOM, "ada", from_bot(containing), deadline=DEADLINE_S)

    async def web_link_code(self, name: str) -> str:
        """`me link` on the web chat: the one-time code the bot answers with."""
        await self.web_says(name, "/me link")
        reply = await self.web_told(name, "Your link code is")
        return str(reply["text"]).split("Your link code is ", 1)[1][:9]


def from_bot(containing: str) -> Callable[[dict[str, Any]], bool]:
    return lambda m: m["user"] == BOT and containing in m["text"]


def config_text(data: Path, spaces: list[str], other: str) -> str:
    lines = [
        "[community]",
        'name = "One community, two platforms"',
        'organisers = ["web:ada"]',
        f"spaces = {spaces!r}".replace("'", '"'),
        "[storage]",
        f'data_dir = "{data}"',
        "[web]",
        'auth = "open"',
        other,
    ]
    return "\n".join(lines) + "\n"


@asynccontextmanager
async def running(
    tmp_path: Path, side: Side, other_config: str, env: dict[str, str]
) -> AsyncIterator[Community]:
    data = tmp_path / "data"
    config = tmp_path / "community.toml"
    spaces = [f"web:{WEB_ROOM}", f"{side.platform}:{side.space}"]
    config.write_text(config_text(data, spaces, other_config))
    async with bot_process(data, config, env) as (proc, chat):
        c = Community(proc, chat, side)
        assert proc.stderr is not None
        reader = asyncio.create_task(_drain(proc.stderr, c.log))
        try:
            yield c
        finally:
            proc.terminate()
            await proc.wait()
            await reader
    log = "".join(c.log)
    assert "Traceback" not in log, log[-4000:]


async def _drain(stream: asyncio.StreamReader, into: list[str]) -> None:
    async for line in stream:
        into.append(line.decode(errors="replace"))


@asynccontextmanager
async def matrix_community(
    tmp_path: Path, synapse: SynapseServer, users: dict[str, MatrixUser], there: tuple[str, ...]
) -> AsyncIterator[Community]:
    bot = users[BOT_USER]
    async with AsyncExitStack() as stack:
        people = {n: await stack.enter_async_context(person(synapse, users[n])) for n in there}
        owner, *others = people.values()
        room = await owner.create_room(
            "Community", invite=(bot.user_id, *(o.user_id for o in others))
        )
        for other in others:
            await other.accept_invite(lambda r, _s, room=room: r == room)
        side = MatrixSide(people, room, bot.user_id)
        matrix = "\n".join(
            [
                "[matrix]",
                f'homeserver = "{synapse.base_url}"',
                f'user_id = "{bot.user_id}"',
                f'access_token_env = "{MATRIX_TOKEN_ENV}"',
                f'rooms = ["{room}"]',
                "exempt_from_rate_limit = true",
            ]
        )
        try:
            async with running(tmp_path, side, matrix, {MATRIX_TOKEN_ENV: bot.access_token}) as c:
                await owner.wait_event(
                    room,
                    lambda e: (
                        e.get("type") == "m.room.member"
                        and e.get("state_key") == bot.user_id
                        and e["content"].get("membership") == "join"
                    ),
                )
                yield c
        finally:
            await side.welcome_again()


@asynccontextmanager
async def slack_community(tmp_path: Path, there: tuple[str, ...]) -> AsyncIterator[Community]:
    fake = FakeSlack()
    await fake.start()
    try:
        for name in there:
            fake.add_user(SLACK_PEOPLE[name], name.capitalize())
            fake.channels[GENERAL].members.add(SLACK_PEOPLE[name])
        slack = "\n".join(
            [
                "[slack]",
                'mode = "socket"',
                f'api_url = "{fake.base_url}"',
                "messages_per_minute = 1200",
            ]
        )
        env = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN}
        async with running(tmp_path, SlackSide(fake), slack, env) as c:
            async with asyncio.timeout(DEADLINE_S):
                await fake.connected.wait()
            yield c
    finally:
        await fake.stop()
    assert fake.violations == [], "calls Slack's spec does not allow"


@pytest.fixture
def there() -> tuple[str, ...]:
    """Who is in the community space on the other platform: everyone, unless a test module
    overrides this fixture."""
    return NAMES


@pytest.fixture(
    params=[
        pytest.param("matrix", marks=pytest.mark.matrix),
        pytest.param("slack", marks=pytest.mark.slack),
    ]
)
async def community_on(
    request: pytest.FixtureRequest, tmp_path: Path, there: tuple[str, ...]
) -> AsyncIterator[Community]:
    """The bot on the web chat and the platform the test runs with: Matrix, or the fake
    Slack. Starts Synapse only for Matrix."""
    if request.param == "slack":
        async with slack_community(tmp_path, there) as c:
            yield c
        return
    synapse = request.getfixturevalue("synapse")
    users = request.getfixturevalue("matrix_users")
    async with matrix_community(tmp_path, synapse, users, there) as c:
        yield c
