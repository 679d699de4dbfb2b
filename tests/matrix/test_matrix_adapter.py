"""What only Matrix has: spaces, invites, edits read back, Synapse's own rate limit."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from adapters.contract import (
    CloseSubSpace,
    CommandInvoked,
    Direct,
    MemberJoined,
    MessageReceived,
    OpenSubSpace,
    Place,
    PlatformName,
    SendMessage,
    Sent,
    SpaceId,
    SubSpaceOpened,
    UserId,
)
from adapters.matrix import MatrixAdapter
from bot.config import Secret
from bot.db import Database
from bot.errors import PlatformError
from tests.contract.subjects import MatrixSubject, open_db
from tests.matrix.people import Person, person, sent_by, throttled_account
from tests.synapse import MatrixUser, SynapseServer

pytestmark = pytest.mark.matrix
MATRIX = PlatformName("matrix")


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await open_db(tmp_path)
    yield database
    await database.close()


@asynccontextmanager
async def started(
    db: Database, server: SynapseServer, bot: MatrixUser, alice: Person, **options: object
) -> AsyncIterator[MatrixSubject]:
    adapter = MatrixAdapter(
        db,
        homeserver=server.base_url,
        user_id=bot.user_id,
        access_token=Secret(bot.access_token),
        sync_timeout_ms=5000,
        **options,  # type: ignore[arg-type]
    )
    subject = MatrixSubject(adapter, alice, "")
    await adapter.start(subject.sink)
    try:
        yield subject
    finally:
        await adapter.stop()


async def state(p: Person, room: str, kind: str, key: str = "") -> dict[str, object]:
    async with httpx.AsyncClient(base_url=p.client.homeserver, timeout=10) as http:
        r = await http.get(
            f"/_matrix/client/v3/rooms/{room}/state/{kind}/{key}",
            headers={"Authorization": f"Bearer {p.client.access_token}"},
        )
    r.raise_for_status()
    found: dict[str, object] = r.json()
    return found


async def test_breakout_rooms_live_in_the_space_and_are_archived_on_close(
    synapse: SynapseServer, matrix_users: dict[str, MatrixUser], db: Database
) -> None:
    bot = matrix_users["communitybot"]
    async with (
        person(synapse, matrix_users["alice"]) as alice,
        person(synapse, matrix_users["bob"]) as bob,
    ):
        space = await alice.create_room(
            "Community space",
            invite=(bot.user_id,),
            space=True,
            power_level_override={"users": {bot.user_id: 100}},
        )
        main = await alice.create_room("Main", invite=(bot.user_id,))
        async with started(db, synapse, bot, alice, rooms=[main], space=space) as subject:
            parent = Place(MATRIX, SpaceId(main))
            opened = await subject.adapter.perform(
                OpenSubSpace(
                    key=f"breakout:{uuid.uuid4().hex}:1",
                    parent=parent,
                    name="Group 1",
                    members=(UserId(alice.user_id),),
                )
            )
            assert isinstance(opened, SubSpaceOpened)
            group = opened.place.space
            await alice.accept_invite(lambda r, _s: r == group)
            # A late joiner: the same parent and name is the same room, with bob invited.
            again = await subject.adapter.perform(
                OpenSubSpace(
                    key=f"breakout:{uuid.uuid4().hex}:invite-bob",
                    parent=parent,
                    name="Group 1",
                    members=(UserId(alice.user_id), UserId(bob.user_id)),
                )
            )
            assert again == opened
            await bob.accept_invite(lambda r, _s: r == group)

            assert (await state(alice, group, "m.room.name"))["name"] == "Group 1"
            assert (await state(alice, group, "m.room.join_rules"))["join_rule"] == "invite"
            assert "via" in await state(alice, group, "m.space.parent", space)
            assert "via" in await state(alice, space, "m.space.child", group)
            present = await subject.adapter.present(opened.place)
            assert {a.user_id for a in present} == {alice.user_id, bob.user_id}

            await subject.adapter.perform(CloseSubSpace(key=f"close:{group}", place=opened.place))
            note = await bob.wait_event(group, sent_by(bot.user_id, containing="archived"))
            assert note["content"]["m.mentions"] == {"user_ids": []}
            assert (await state(bob, group, "m.room.name"))["name"] == "(archived) Group 1"
            left = await state(bob, group, "m.room.member", bot.user_id)
            assert left["membership"] == "leave"
            assert await state(alice, space, "m.space.child", group) == {}  # not listed there


async def test_invites_dms_edits_and_joins(
    synapse: SynapseServer, matrix_users: dict[str, MatrixUser], db: Database
) -> None:
    """A DM invite is accepted and becomes the member's DM; a stray invite is declined."""
    bot = matrix_users["communitybot"]
    async with (
        person(synapse, matrix_users["carol"]) as carol,
        person(synapse, matrix_users["dave"]) as dave,
    ):
        room = await carol.create_room("Carol's circle", invite=(bot.user_id,))
        async with started(db, synapse, bot, carol, rooms=[room]) as subject:
            dm = await carol.create_room("", invite=(bot.user_id,), is_direct=True)
            stray = await dave.create_room("Not configured", invite=(bot.user_id,))
            asked = await carol.say(dm, "!help")
            command = await subject.next_inbound(CommandInvoked)
            assert command.place.direct and command.place.space == dm
            assert command.message_id == asked

            sent = await subject.adapter.perform(
                SendMessage(
                    key=f"dm:{uuid.uuid4().hex}",
                    to=Direct(MATRIX, UserId(carol.user_id)),
                    text=("Here is what you can do",),
                )
            )
            assert isinstance(sent, Sent) and sent.place.space == dm, "the invited DM is used"
            # Carol leaves the DM: the next private message opens a new one.
            await carol.client.room_leave(dm)
            await carol.say(room, "I left our DM")
            await subject.next_inbound(MessageReceived)  # the leave came before it
            fresh = await subject.adapter.perform(
                SendMessage(
                    key=f"dm:{uuid.uuid4().hex}",
                    to=Direct(MATRIX, UserId(carol.user_id)),
                    text=("A new DM",),
                )
            )
            assert isinstance(fresh, Sent) and fresh.place.space != dm and fresh.place.direct
            assert await carol.accept_dm_from(bot.user_id) == fresh.place.space

            said = await carol.say(room, "My answer: tea")
            await carol.edit(room, said, "My answer: coffee")
            first = await subject.next_inbound(MessageReceived)
            edit = await subject.next_inbound(MessageReceived)
            assert (first.text, first.edits) == ("My answer: tea", None)
            assert (edit.text, edit.edits) == ("My answer: coffee", said)

            await carol.client.room_invite(room, dave.user_id)
            await dave.accept_invite(lambda r, _s: r == room)
            joined = await subject.next_inbound(MemberJoined)
            assert joined.actor.user_id == dave.user_id and joined.place.space == room

            # The stray invite came before carol's `!help`, so it was decided by now.
            declined = await state(dave, stray, "m.room.member", bot.user_id)
            assert declined["membership"] == "invite"


async def test_synapse_rate_limit_becomes_a_retry_delay(
    synapse: SynapseServer, matrix_users: dict[str, MatrixUser], db: Database
) -> None:
    """A bot account without the exemption: Synapse's 429 is a `PlatformError` to retry."""
    slow = await throttled_account(synapse, per_second=1)
    slow_id = slow.user_id
    async with person(synapse, matrix_users["erin"]) as erin:
        room = await erin.create_room("Busy", invite=(slow_id,))
        async with started(db, synapse, slow, erin, rooms=[room]) as subject:
            to = Place(MATRIX, SpaceId(room))
            # Burst 1 (joining spent some): within three quick sends Synapse says slow down.
            with pytest.raises(PlatformError) as caught:
                for n in range(3):
                    await subject.adapter.perform(SendMessage(key=f"k{n}", to=to, text=("hi",)))
    assert caught.value.retry_after is not None and 0 < caught.value.retry_after <= 10
    assert not caught.value.permanent


async def test_a_retry_after_a_restart_is_still_the_same_message(
    synapse: SynapseServer, matrix_users: dict[str, MatrixUser], db: Database
) -> None:
    """Logged in by password, the bot keeps its device, so Synapse still knows the txn id."""
    bot = matrix_users["communitybot"]
    async with person(synapse, matrix_users["erin"]) as erin:
        room = await erin.create_room("Retries", invite=(bot.user_id,))
        to = Place(MATRIX, SpaceId(room))
        action = SendMessage(key=f"retry:{uuid.uuid4().hex}", to=to, text=("Only once",))
        sent = []
        for _run in range(2):
            adapter = MatrixAdapter(
                db,
                homeserver=synapse.base_url,
                user_id=bot.user_id,
                password=Secret(bot.password),
                rooms=[room],
                sync_timeout_ms=5000,
            )
            await adapter.start(MatrixSubject(adapter, erin, room).sink)
            try:
                sent.append(await adapter.perform(action))
            finally:
                await adapter.stop()
        assert sent[0] == sent[1]
        assert await MatrixSubject(adapter, erin, room).count(to, "Only once") == 1
