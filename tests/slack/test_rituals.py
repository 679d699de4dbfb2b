"""The rituals in a Slack workspace, through the real `community-bot run` process.

The fake Slack plays the workspace; members act through it (messages, thread replies, DMs,
edits, slash commands, buttons, modals) and the test waits, with deadlines, for what the bot
does in Slack.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
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


async def test_a_nudge_reaches_only_non_responders_and_an_event_reminder_everyone(
    tmp_path: Path,
) -> None:
    async with slack_community(tmp_path, "alice", "bob", "carol") as c:
        await c.say("carol", "Hello all, carol here")
        await c.slash("alice", "/checkin", f'open "{PROMPT}"')
        root = await round_thread(c, PROMPT)
        await c.say("bob", "The people", thread=root)
        await c.told("bob", "your answer is in")

        await c.slash(
            "alice",
            "/nudge",
            '"Still time to say what brought you here" --at "in 2s" --to non-responders',
        )
        now = datetime.now(UTC)
        start = (now + timedelta(minutes=2)).replace(second=0, microsecond=0)
        remind = int((start - now).total_seconds()) - 3  # due in about three seconds
        when = start.strftime("%Y-%m-%d %H:%M")
        await c.slash("alice", "/event", f'add "Community call" "{when}" --remind {remind}s')
        carol_dm = c.fake.dm_channel(c.id("carol"))
        await c.from_bot("Still time to say", channel=carol_dm)
        for name in ("alice", "bob", "carol"):
            await c.from_bot("Community call", channel=c.fake.dm_channel(c.id(name)))
        bob_dm = c.fake.dm_channel(c.id("bob"))
        await c.from_bot("Still time to say", channel=c.fake.dm_channel(c.id("alice")))
        assert c.fake.bot_message(bob_dm, "Still time to say") is None, "bob answered"


async def test_a_breakout_of_six_into_two_private_channels_reports_back(tmp_path: Path) -> None:
    names = ("bob", "carol", "dave", "erin", "frank", "grace")
    provocation = "What would make this place better?"
    async with slack_community(tmp_path, "alice", *names) as c:
        await c.slash("alice", "/breakout", f'2 groups "{provocation}" --from present --minutes 30')

        def groups() -> list | None:
            found = [
                ch
                for ch in c.fake.channels.values()
                if ch.is_private and c.fake.bot_message(ch.id, provocation)
            ]
            return found if len(found) == 2 else None

        channels = await c.fake.until(groups)
        people = [ch.members - {"U0BOT"} for ch in channels]
        assert sorted(len(p) for p in people) == [3, 3]
        assert set().union(*people) == {c.id(n) for n in names}, "alice facilitates"

        await c.slash("alice", "/breakout", "end")
        for number, channel in enumerate(channels, 1):
            await c.from_bot("Please report back", channel=channel.id)
            reporter = next(n for n in names if c.id(n) in channel.members)
            await c.slash(reporter, "/report", f"Group finding {number}", channel=channel.id)
            await c.from_bot(f"Group finding {number}", channel=channel.id)
        await c.slash("alice", "/breakout", "end")
        summary = await c.from_bot("Breakout reports (2 groups)")
        await c.fake.until(lambda: all(ch.is_archived for ch in channels))

    assert "Group finding 1" in summary["text"] and "Group finding 2" in summary["text"]
    assert provocation in summary["text"]
