"""End-to-end encryption: with `e2e = true` the bot reads and answers in encrypted rooms."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.matrix.people import ENCRYPTION, Person, bot_config, bot_running, person, sent_by
from tests.synapse import MatrixUser, SynapseServer

pytestmark = pytest.mark.matrix


async def test_an_encrypted_command_is_read_and_answered_encrypted(
    synapse: SynapseServer, matrix_users: dict[str, MatrixUser], tmp_path: Path
) -> None:
    bot = matrix_users["communitybot"]
    async with person(synapse, matrix_users["frank"], e2e_store=tmp_path / "frank") as frank:
        # Only people in the community's rooms are members: frank is in its room.
        room = await frank.create_room("community", invite=(bot.user_id,))
        config = bot_config(synapse, bot, tmp_path / "bot", password=True, e2e=True, rooms=[room])
        async with bot_running(config):
            await _dm_the_bot(frank, bot)
    assert (tmp_path / "bot" / "matrix-store").is_dir(), "the bot keeps its keys in the data dir"


async def _dm_the_bot(frank: Person, bot: MatrixUser) -> None:
    """Frank writes to the bot in an encrypted DM; the answer comes back encrypted."""
    dm = await frank.create_room(
        "", invite=(bot.user_id,), is_direct=True, initial_state=[ENCRYPTION]
    )
    await frank.wait_event(
        dm,
        lambda e: e.get("state_key") == bot.user_id and e["content"].get("membership") == "join",
    )
    asked = await frank.say(dm, "!help me")
    reply = await frank.wait_event(dm, sent_by(bot.user_id, containing="me tz <zone>"))
    assert reply["event_id"] in frank.decrypted, "the bot answered in the encrypted room, encrypted"
    assert asked in frank.decrypted, "frank wrote encrypted: the bot had to decrypt it"
