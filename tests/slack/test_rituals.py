"""The rituals in a Slack workspace, through the real `community-bot run` process.

The fake Slack plays the workspace; members act through it (messages, thread replies, DMs,
edits, slash commands, buttons, modals) and the test waits, with deadlines, for what the bot
does in Slack.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.slack.community import SlackCommunity, slack_community

pytestmark = pytest.mark.slack
PROMPT = "What brought you here?"


async def round_thread(c: SlackCommunity, prompt: str) -> str:
    """The round's thread, once the bot knows it as the round's (see the Matrix rituals:
    a `checkin status` answered means the post's outcome is recorded)."""
    post = await c.from_bot(f"Check-in: {prompt}")
    await c.slash("alice", "/checkin", "status")
    await c.told("alice", "answered")
    return str(post["ts"])


async def test_a_round_answered_in_the_thread_by_dm_and_edited_is_summed_up(
    tmp_path: Path,
) -> None:
    async with slack_community(tmp_path, "alice", "bob", "carol") as c:
        await c.say("carol", "Hello all, carol here")  # the bot meets carol: she is asked
        await c.slash("alice", "/checkin", f'open "{PROMPT}" --dm')
        root = await round_thread(c, PROMPT)

        reply = await c.say("bob", "The people", thread=root)
        await c.told("bob", "your answer is in")
        dm = c.fake.dm_channel(c.id("carol"))
        await c.from_bot(PROMPT, channel=dm)
        await c.say("carol", "Curiosity, mostly", channel=dm)
        await c.told("carol", "your answer is in")

        await c.fake.edit(c.id("bob"), "C0GENERAL", reply, "The people, truly")
        await c.told("bob", "your answer is updated")

        await c.slash("alice", "/checkin", "close")
        summary = await c.from_bot("Check-in closed")

    text = summary["text"]
    assert "2 answers, 0 passes" in text
    assert "The people, truly" in text and "Curiosity, mostly" in text
    assert ": The people\n" not in text, "the edit replaced the first answer"
