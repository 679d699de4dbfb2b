"""The rituals in a Slack workspace, through the real `community-bot run` process.

The fake Slack plays the workspace; members act through it (messages, thread replies, DMs,
edits, slash commands, buttons, modals) and the test waits, with deadlines, for what the bot
does in Slack.
"""

from __future__ import annotations

import re
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

    assert summary["thread_ts"] == root, "a reply under the answers"
    assert c.fake.in_channel(summary), "and shown in the channel (reply_broadcast)"
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


async def answer_by_modal(c: SlackCommunity, name: str, message_ts: str, text: str) -> None:
    """`name` presses Answer on the round's post, writes `text` in the modal, sends it."""
    user = c.id(name)
    await c.fake.press(user, "C0GENERAL", message_ts, "Answer")
    view = await c.fake.until(lambda: c.fake.view_for(user))
    await c.fake.submit(user, view["id"], text)


async def test_answers_by_modal_and_pass_and_an_anonymous_round_only_by_modal(
    tmp_path: Path,
) -> None:
    async with slack_community(tmp_path, "alice", "bob", "dave", "erin") as c:
        await c.slash("alice", "/checkin", f'open "{PROMPT}"')
        root = await round_thread(c, PROMPT)
        await answer_by_modal(c, "dave", root, "Listening, & <!here> no ping")
        await c.told("dave", "your answer is in")
        await c.fake.press(c.id("erin"), "C0GENERAL", root, "Pass")
        await c.told("erin", "Pass noted")
        await c.slash("alice", "/checkin", "close")
        first = await c.from_bot("Check-in closed")

        secret = "How are you arriving, honestly?"
        await c.slash("alice", "/checkin", f'open "{secret}" --anonymous')
        post = await c.from_bot(f"Check-in: {secret}")
        assert "Press Answer" in c.fake.bot_message("C0GENERAL", secret)["text"]
        root = await round_thread(c, secret)
        await c.say("bob", "Typed where everyone sees it", thread=root)
        await answer_by_modal(c, "bob", str(post["ts"]), "Tired but glad")
        await c.told("bob", "shared without your name")
        await c.slash("alice", "/checkin", "close")
        second = await c.from_bot(f"Check-in closed: {secret}")

    assert "1 answer, 1 pass" in first["text"] and "Dave: Listening" in first["text"]
    assert "Listening, &amp; &lt;!here&gt; no ping" in first["text"], "escaped: no ping"
    assert "Tired but glad" in second["text"]
    assert "Typed where everyone sees it" not in second["text"], "only the modal counts"
    assert "Bob" not in second["text"] and c.id("bob") not in second["text"]


async def test_a_breakout_in_threads_joined_by_button_reaction_and_reply(tmp_path: Path) -> None:
    """Slack runs no slash command in a thread: groups report with the plain words the bot
    gives them or by mentioning it, and a command the bot names there is written as a
    mention."""
    provocation = "What is one thing you would change?"
    async with slack_community(
        tmp_path, "alice", "bob", "carol", "dave", "erin", breakouts="threads"
    ) as c:
        await c.slash(
            "alice", "/breakout", f'2 groups "{provocation}" --join-window 10 --minutes 30'
        )
        call = await c.from_bot("Breakout starting!")
        await c.fake.press(c.id("bob"), "C0GENERAL", call["ts"], "Join")
        await c.told("bob", "You're in")
        await c.fake.react(c.id("carol"), "C0GENERAL", call["ts"], "raised_hands")
        await c.say("dave", "join", thread=call["ts"])
        await c.say("erin", "<@U0BOT> join")
        for name in ("carol", "dave", "erin"):
            await c.told(name, "You're in")

        def group_threads() -> list[str] | None:
            found = [
                m["thread_ts"]
                for m in c.fake.channels["C0GENERAL"].messages
                if m.get("user") == "U0BOT" and m.get("thread_ts") and provocation in m["text"]
            ]
            return found if len(found) == 2 else None

        threads = await c.fake.until(group_threads, deadline=40)
        assert len(set(threads)) == 2
        await c.say("alice", '<@U0BOT> breakout 2 groups "Again?"', thread=call["ts"])
        await c.told("alice", "`@communitybot breakout end` ends it")  # typed in the thread
        await c.slash("alice", "/breakout", '2 groups "Again?"')
        await c.told("alice", "`/breakout end` ends it")
        await c.slash("alice", "/breakout", "end")
        for number, thread in enumerate(threads, 1):
            intro = await c.from_bot(provocation, thread=thread)
            member = re.findall(r"<@(U0[A-Z]+)>", intro["text"])[0]
            request = await c.from_bot("Please report back", thread=thread)
            assert "`report &lt;" in request["text"], "the words to type, as typed in a thread"
            said = "report" if number == 1 else "<@U0BOT> report"  # the words, or by mention
            await c.fake.say(member, "C0GENERAL", f"{said} Thread finding {number}", thread)
            await c.from_bot(f"Thread finding {number}", thread=thread)
        await c.slash("alice", "/breakout", "end")
        summary = await c.from_bot("Breakout reports (2 groups)")
    assert "Thread finding 1" in summary["text"] and "Thread finding 2" in summary["text"]
    assert not any(ch.is_private for ch in c.fake.channels.values()), "threads, no channels"
