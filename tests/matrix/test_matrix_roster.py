"""Who belongs to a Matrix community: those in its rooms, on a real Synapse.

Someone who never spoke is asked in a `--dm` round; someone who left is not; a stranger who
opens a DM with the bot gets a short, polite refusal and never becomes a member.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from bot.core import NOT_A_MEMBER
from bot.models import Identity, OutboxRow
from tests.matrix.people import community, person
from tests.synapse import MatrixUser, SynapseServer

pytestmark = pytest.mark.matrix


async def test_the_roster_follows_the_rooms_membership(
    synapse: SynapseServer, matrix_users: dict[str, MatrixUser], tmp_path: Path
) -> None:
    async with community(synapse, matrix_users, tmp_path, "alice", "bob", "carol") as c:
        alice, carol = c.people["alice"], c.people["carol"]
        await carol.client.room_leave(c.room)  # carol leaves before any round
        async with person(synapse, matrix_users["erin"]) as erin:  # never in the community
            dm = await erin.create_room("bot", invite=(c.bot.user_id,), is_direct=True)
            await erin.until(
                lambda: dm in erin.client.rooms and c.bot.user_id in erin.client.rooms[dm].users
            )
            await erin.say(dm, "hello bot, can I join your rounds?")
            await erin.wait_event(dm, c.from_bot(NOT_A_MEMBER))

        await alice.say(c.room, '!checkin open "How are you?" --dm')
        bob_dm = await c.dm("bob")  # bob never spoke: the roster has him from the room
        await c.people["bob"].wait_event(bob_dm, c.from_bot("How are you?"))
        assert c.run is not None
        async with c.run.bot.db.reader() as s:
            asked = [r.action["to"] for r in (await s.exec(select(OutboxRow))).all()]
            identities = {i.external_id: i for i in (await s.exec(select(Identity))).all()}
        users = {to.get("direct_to") for to in asked}
        assert matrix_users["bob"].user_id in users
        assert matrix_users["carol"].user_id not in users
        assert identities[matrix_users["carol"].user_id].left_at is not None
        assert matrix_users["erin"].user_id not in identities
