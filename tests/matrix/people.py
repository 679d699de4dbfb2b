"""Community members on real matrix-nio clients, and the bot running against the test Synapse.

A `Person` does what a member does in Element (create a room, invite, say, reply in a
thread, edit, react, accept the bot's DM) and reads what arrives by syncing, never by
sleeping: every wait long-polls /sync until the event is there or the deadline passes.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from nio import (
    AsyncClient,
    AsyncClientConfig,
    JoinResponse,
    LoginResponse,
    RoomCreateResponse,
    RoomSendResponse,
    SyncResponse,
)

from adapters.matrix.adapter import _stripped
from bot.app import Running, running
from bot.clock import Clock
from bot.config import Config, parse_config
from tests.synapse import MatrixUser, SynapseServer

DEADLINE_S = 20.0
Event = dict[str, Any]
ENCRYPTION: Event = {
    "type": "m.room.encryption",
    "state_key": "",
    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
}


class Person:
    def __init__(self, client: AsyncClient) -> None:
        self.client = client
        self.user_id: str = client.user_id
        self.timeline: dict[str, list[Event]] = {}
        self.invites: dict[str, list[Event]] = {}
        self.decrypted: set[str] = set()
        """Ids of events that arrived encrypted and this member's device could read."""

    async def sync(self, timeout_ms: int = 1000, sync_filter: dict[str, Any] | None = None) -> None:
        response = await self.client.sync(timeout=timeout_ms, sync_filter=sync_filter)
        assert isinstance(response, SyncResponse), response
        for room_id, joined in response.rooms.join.items():
            events = joined.timeline.events
            self.timeline.setdefault(room_id, []).extend(e.source for e in events)
            self.decrypted.update(e.event_id for e in events if getattr(e, "decrypted", False))
        for room_id, invited in response.rooms.invite.items():
            self.invites[room_id] = [_stripped(e) for e in invited.invite_state]
        if self.client.olm is not None:
            if self.client.should_upload_keys:
                await self.client.keys_upload()
            if self.client.should_query_keys:
                await self.client.keys_query()
            if self.client.should_claim_keys:
                await self.client.keys_claim(self.client.get_users_for_key_claiming())
            await self.client.send_to_device_messages()

    async def until(self, found: Callable[[], Any], deadline: float = DEADLINE_S) -> Any:
        """Sync until `found()` returns something truthy, and return it."""
        async with asyncio.timeout(deadline):
            while not (result := found()):
                await self.sync()
            return result

    async def wait_event(
        self, room_id: str, pred: Callable[[Event], bool], deadline: float = DEADLINE_S
    ) -> Event:
        def match() -> Event | None:
            return next((e for e in self.timeline.get(room_id, []) if pred(e)), None)

        result: Event = await self.until(match, deadline)
        return result

    def events(self, room_id: str, pred: Callable[[Event], bool]) -> list[Event]:
        return [e for e in self.timeline.get(room_id, []) if pred(e)]

    async def accept_invite(self, pred: Callable[[str, list[Event]], bool]) -> str:
        """Wait for an invite matching `pred`, join it, return the room id."""
        room_id: str = await self.until(
            lambda: next((r for r, s in self.invites.items() if pred(r, s)), None)
        )
        del self.invites[room_id]
        joined = await self.client.join(room_id)
        assert isinstance(joined, JoinResponse), joined
        return room_id

    async def accept_dm_from(self, inviter: str) -> str:
        def is_dm(_room: str, state: list[Event]) -> bool:
            return any(
                e.get("type") == "m.room.member"
                and e.get("state_key") == self.user_id
                and e.get("sender") == inviter
                and (e.get("content") or {}).get("is_direct")
                for e in state
            )

        return await self.accept_invite(is_dm)

    async def create_room(self, name: str, invite: tuple[str, ...] = (), **options: Any) -> str:
        created = await self.client.room_create(name=name, invite=list(invite), **options)
        assert isinstance(created, RoomCreateResponse), created
        return str(created.room_id)

    async def send(
        self, room_id: str, content: Mapping[str, Any], kind: str = "m.room.message"
    ) -> str:
        sent = await self.client.room_send(
            room_id, kind, dict(content), ignore_unverified_devices=True
        )
        assert isinstance(sent, RoomSendResponse), sent
        return str(sent.event_id)

    async def say(self, room_id: str, body: str, thread: str | None = None) -> str:
        content: dict[str, Any] = {"msgtype": "m.text", "body": body}
        if thread is not None:
            content["m.relates_to"] = {
                "rel_type": "m.thread",
                "event_id": thread,
                "is_falling_back": True,
                "m.in_reply_to": {"event_id": thread},
            }
        return await self.send(room_id, content)

    async def edit(self, room_id: str, event_id: str, body: str) -> str:
        return await self.send(
            room_id,
            {
                "msgtype": "m.text",
                "body": f"* {body}",
                "m.new_content": {"msgtype": "m.text", "body": body},
                "m.relates_to": {"rel_type": "m.replace", "event_id": event_id},
            },
        )

    async def notifications(self) -> list[Event]:
        """What the server decided to notify this person of (the push rules' verdicts)."""
        async with httpx.AsyncClient(base_url=self.client.homeserver, timeout=10) as http:
            r = await http.get(
                "/_matrix/client/v3/notifications",
                headers={"Authorization": f"Bearer {self.client.access_token}"},
            )
        r.raise_for_status()
        found: list[Event] = r.json()["notifications"]
        return found

    async def react(self, room_id: str, event_id: str, key: str) -> str:
        relates = {"rel_type": "m.annotation", "event_id": event_id, "key": key}
        return await self.send(room_id, {"m.relates_to": relates}, kind="m.reaction")


@asynccontextmanager
async def person(
    server: SynapseServer, user: MatrixUser, e2e_store: Path | None = None
) -> AsyncIterator[Person]:
    """A member's client, caught up so that only what happens from now on is in its timeline.

    With `e2e_store` it logs in by password as a new device with encryption on (a member
    using Element); otherwise it uses the registration token.
    """
    config = AsyncClientConfig(encryption_enabled=e2e_store is not None, store_sync_tokens=False)
    client = AsyncClient(
        server.base_url, user.user_id, store_path=str(e2e_store or ""), config=config
    )
    try:
        if e2e_store is not None:
            await asyncio.to_thread(e2e_store.mkdir, parents=True, exist_ok=True)
            login = await client.login(user.password, device_name="test member")
            assert isinstance(login, LoginResponse), login
        else:
            client.access_token = user.access_token
            client.user_id = user.user_id
        member = Person(client)
        # Synapse caches an initial sync for two minutes per request: a filter of our own
        # makes this one fresh, not an earlier test's stale position.
        await member.sync(timeout_ms=0, sync_filter=_unique_filter())
        member.timeline.clear()
        member.invites.clear()
        yield member
    finally:
        await client.close()


async def throttled_account(server: SynapseServer, per_second: int) -> MatrixUser:
    """A fresh bot account that Synapse limits to `per_second` messages, with no burst.

    The suite's Synapse is generous to everyone, so the limit is set for this account
    alone through the admin API, as an operator would (a server admin registered for it).
    """
    _admin, admin_token = await asyncio.to_thread(
        server.register, f"admin{secrets.token_hex(3)}", secrets.token_hex(8), True
    )
    password = secrets.token_hex(8)
    user_id, token = await asyncio.to_thread(
        server.register, f"slowbot{secrets.token_hex(3)}", password
    )
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
        r = await http.post(
            f"/_synapse/admin/v1/users/{user_id}/override_ratelimit",
            json={"messages_per_second": per_second, "burst_count": 1},
            headers={"Authorization": f"Bearer {admin_token}"},
        )
        r.raise_for_status()
    return MatrixUser(user_id, password, token)


def _unique_filter() -> dict[str, Any]:
    return {"account_data": {"not_types": [f"test.fresh.{uuid.uuid4().hex}"]}}


def bot_config(
    server: SynapseServer,
    bot: MatrixUser,
    data_dir: Path,
    organisers: tuple[str, ...] = ("matrix:@alice:localhost",),
    *,
    password: bool = False,
    **matrix: Any,
) -> Config:
    """The bot's configuration for the test server.

    It logs in with its registration token, or with `password=True` by password as a new
    device (what an E2E bot needs: a device whose keys only its own store holds).
    """
    data = {
        "community": {"name": "Matrix test community", "organisers": list(organisers)},
        "storage": {"data_dir": str(data_dir)},
        "matrix": {
            "homeserver": server.base_url,
            "user_id": bot.user_id,
            ("password_env" if password else "access_token_env"): "MATRIX_SECRET",
            **matrix,
        },
    }
    secret = bot.password if password else bot.access_token
    return parse_config(data, {"MATRIX_SECRET": secret}, data_dir)


@asynccontextmanager
async def bot_running(config: Config, clock: Clock | None = None) -> AsyncIterator[Running]:
    """The whole bot, as `community-bot run` starts it, minus the web server.

    With a `clock` (a `FakeClock`) its timers and deliveries run on that clock: a breakout's
    time box passes when the test moves the clock, everything else as it happens.
    """
    async with running(config, serve=False, clock=clock) as run:
        yield run


class Community:
    """The bot and some members in one community room: the set-up of every ritual scenario.

    `restart()` stops the bot and starts it again on the same database, as a deploy would;
    `dm(name)` is that member's direct room with the bot (accepting the bot's invite once).
    A check-in, breakout or reminder scenario is then a few `say`s and `wait_event`s.
    """

    def __init__(
        self,
        bot: MatrixUser,
        config: Config,
        room: str,
        people: dict[str, Person],
        *,
        space: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.bot = bot
        self.config = config
        self.room = room
        self.people = people
        self.space = space
        self.clock = clock
        self._dms: dict[str, str] = {}
        self._stack = AsyncExitStack()
        self.run: Running | None = None

    async def start(self) -> None:
        self.run = await self._stack.enter_async_context(bot_running(self.config, self.clock))

    async def stop(self) -> None:
        await self._stack.aclose()
        self.run = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def dm(self, name: str) -> str:
        if name not in self._dms:
            self._dms[name] = await self.people[name].accept_dm_from(self.bot.user_id)
        return self._dms[name]

    def from_bot(self, containing: str = "") -> Callable[[Event], bool]:
        return sent_by(self.bot.user_id, containing=containing)


@asynccontextmanager
async def community(
    server: SynapseServer,
    users: Mapping[str, MatrixUser],
    data_dir: Path,
    *names: str,
    start: bool = True,
    in_space: bool = False,
    encrypted: Path | None = None,
    clock: Clock | None = None,
    **matrix: Any,
) -> AsyncIterator[Community]:
    """`names` (the first is the organiser who creates the room) with the bot, running
    unless `start=False` (to say things before the bot's first start).

    `in_space=True` puts the community in a Matrix space of its own (where breakout rooms
    go; the bot may add rooms to it). With `encrypted` (a directory for the members' key
    stores) the room is end-to-end encrypted, the members use E2E devices and the bot runs
    with `e2e = true`. `clock` is the bot's clock (see `bot_running`).
    """
    bot = users["communitybot"]
    initial_state: list[Event] = []
    if encrypted is not None:
        initial_state.append(ENCRYPTION)
        matrix.update(password=True, e2e=True)
    async with AsyncExitStack() as stack:
        people = {
            n: await stack.enter_async_context(
                person(server, users[n], encrypted / n if encrypted else None)
            )
            for n in names
        }
        owner, *others = (people[n] for n in names)
        if in_space:
            space: str | None = await owner.create_room(
                "Community space",
                invite=(bot.user_id,),
                space=True,
                power_level_override={"users": {bot.user_id: 100}},
            )
            matrix["space"] = space
        else:
            space = None
        room = await owner.create_room(
            "Community",
            invite=(bot.user_id, *(o.user_id for o in others)),
            # A moderator bot, so an @room it sent would be allowed to ping everyone.
            power_level_override={"users": {bot.user_id: 50}},
            initial_state=initial_state,
        )
        for other in others:
            await other.accept_invite(lambda r, _s: r == room)
        organiser = f"matrix:{owner.user_id}"
        config = bot_config(server, bot, data_dir, (organiser,), rooms=[room], **matrix)
        found = Community(bot, config, room, people, space=space, clock=clock)
        if start:
            await found.start()
        try:
            yield found
        finally:
            await found.stop()


def highlights(notification: Event) -> bool:
    """Whether a notification pings (`highlight`), as an @room or a mention would."""
    return any(
        isinstance(a, dict) and a.get("set_tweak") == "highlight" and a.get("value", True)
        for a in notification["actions"]
    )


def sent_by(user_id: str, *, containing: str = "") -> Callable[[Event], bool]:
    def pred(event: Event) -> bool:
        content = event.get("content") or {}
        return (
            event.get("sender") == user_id
            and event.get("type") == "m.room.message"
            and containing in str(content.get("body", ""))
        )

    return pred
