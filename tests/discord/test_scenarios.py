"""The rituals on the fake Discord, driving the real `community-bot run` process."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.discord import payloads as p
from tests.discord.community import (
    ADA,
    BEA,
    CYD,
    DAN,
    EVE,
    FAY,
    GUS,
    Community,
    community,
    until,
)

pytestmark = pytest.mark.discord


def custom_ids(post: dict[str, object]) -> list[str]:
    rows = post["components"]
    assert isinstance(rows, list)
    return [c["custom_id"] for row in rows for c in row["components"]]


async def status(c: Community, expected: str) -> None:
    """Ask `/checkin status` until it says `expected` (answers are handled as they come)."""

    async def asked() -> bool:
        iid = await c.command(ADA, "checkin", "status")
        answer = await c.followup(iid, "answered")
        return expected in c.fake._text(answer)

    for _ in range(50):
        if await asked():
            return
    raise AssertionError(f"status never said {expected!r}")


async def round_post(c: Community, prompt: str) -> dict[str, Any]:
    """The round's post, once the bot knows its thread as the round's: it records the thread
    when the delivery that carried the post is recorded, which may be after the post shows."""
    post = await c.post(prompt)
    await status(c, "0 answered")
    return post


async def test_a_round_answered_by_modal_thread_and_pass(tmp_path: Path) -> None:
    async with community(tmp_path) as c:
        fake = c.fake
        iid = await c.command(ADA, "checkin", "open", prompt="How are you arriving?")
        opened = await c.followup(iid, "is open")
        assert opened.get("flags") == 64, "only the organiser sees that the round opened"
        post = await round_post(c, "How are you arriving?")
        answer, passing = custom_ids(post)
        assert answer.startswith("+checkin.answer|") and passing.startswith("checkin.pass|")
        thread = post["id"]
        assert thread in fake.channels, "the round's post has a thread for replies"

        fake.say(BEA, "Calm and curious", channel=thread)
        press = fake.press(DAN, post["id"], answer)
        modal = await fake.answered_within(press, 3.0)
        assert modal["type"] == 9
        fake.submit(DAN, post["id"], modal["data"]["custom_id"], "Tired but here")
        fake.press(CYD, post["id"], passing)
        await status(c, "2 answered, 1 passed")

        await c.command(ADA, "checkin", "close")
        summary = await c.post("Check-in closed")
        assert (summary["embeds"] and "content" not in summary) or not summary["content"]
        text = fake._text(summary)
        assert "2 answers, 1 pass" in text
        assert "Calm and curious" in text and "Tired but here" in text


async def test_an_anonymous_round_takes_answers_only_through_the_form(tmp_path: Path) -> None:
    async with community(tmp_path) as c:
        fake = c.fake
        await c.command(ADA, "checkin", "open", prompt="What is hard right now?", anonymous=True)
        post = await round_post(c, "What is hard right now?")
        answer, _ = custom_ids(post)
        typed = fake.say(BEA, "Deadlines", channel=post["id"])
        refusal = await c.dm(BEA, "Answer")
        assert "Deadlines" not in fake._text(refusal)
        press = fake.press(CYD, post["id"], answer)
        modal = await fake.answered_within(press)
        fake.submit(CYD, post["id"], modal["data"]["custom_id"], "Sleep")
        await status(c, "1 answered")
        await c.command(ADA, "checkin", "close")
        summary = fake._text(await c.post("Check-in closed"))
        assert "Sleep" in summary and "Deadlines" not in summary
        assert "Cyd" not in summary, "anonymous"
        assert typed in fake.messages  # the member's own message is theirs to delete


async def test_the_gateway_drops_mid_round_and_resumes_without_loss_or_repeats(
    tmp_path: Path,
) -> None:
    async with community(tmp_path) as c:
        fake = c.fake
        await c.command(ADA, "checkin", "open", prompt="One word for today?")
        post = await round_post(c, "One word for today?")
        fake.say(BEA, "Bright", channel=post["id"])
        await c.dm(BEA, "answer")
        await fake.drop()
        fake.say(CYD, "Slow", channel=post["id"])
        fake.say(DAN, "Busy", channel=post["id"])
        await fake.connected()
        [resume] = fake.resumed
        assert resume["session_id"] == fake.session and resume["seq"] > 0
        assert len(fake.identified) == 1
        await status(c, "3 answered")
        await c.command(ADA, "checkin", "close")
        text = fake._text(await c.post("Check-in closed"))
        assert "3 answers" in text
        assert text.count("Slow") == 1 and text.count("Busy") == 1 and text.count("Bright") == 1
        for user in (BEA, CYD, DAN):
            acks = [m for m in c.bot_posts(fake.dm_channel(user)) if "answer" in fake._text(m)]
            assert len(acks) == 1, f"one acknowledgement for {user}, not a repeat"


async def test_a_nudge_reaches_members_by_dm(tmp_path: Path) -> None:
    async with community(tmp_path) as c:
        fake = c.fake
        for user in (BEA, CYD):
            fake.say(user, "hello")  # the bot meets them
        iid = await c.command(ADA, "nudge", "send", text="Share one win today", at="now")
        await c.followup(iid)
        for user in (BEA, CYD):
            await c.dm(user, "Share one win today")


async def test_a_breakout_of_six_into_two_private_threads_with_report_backs(
    tmp_path: Path,
) -> None:
    async with community(tmp_path) as c:
        fake = c.fake
        six = [BEA, CYD, DAN, EVE, FAY, GUS]
        await c.command(
            ADA,
            "breakout",
            "start",
            groups=2,
            provocation="What would you change?",
            **{"join-window": 10},
        )
        call = await c.post("Breakout starting!")
        [join] = custom_ids(call)
        for user in six:
            fake.press(user, call["id"], join)

        def two_groups() -> list[Any] | None:
            private = [ch for ch in fake.channels.values() if ch.type == 12]
            full = [ch for ch in private if len(ch.members - {p.BOT}) == 3]
            return full if len(private) == len(full) == 2 else None

        threads = await until(two_groups, "two private threads of three")
        assert all(t.parent_id == p.CHANNEL for t in threads)
        placed = [t.members - {p.BOT} for t in threads]
        assert placed[0] | placed[1] == set(six) and not placed[0] & placed[1]
        for n, thread in enumerate(threads, start=1):
            await c.post("What would you change?", channel=thread.id)
            member = sorted(thread.members - {p.BOT})[0]
            fake.say(member, f"!report Group idea {n}", channel=thread.id)
            await c.post(f"Group idea {n}", channel=thread.id)
        await c.command(ADA, "breakout", "end")
        await c.post("report back", channel=threads[0].id)
        await c.command(ADA, "breakout", "end")
        reports = fake._text(await c.post("Breakout reports (2 groups)"))
        assert "Group idea 1" in reports and "Group idea 2" in reports
        await until(lambda: all(t.archived and t.locked for t in threads), "threads closed")


async def test_an_imported_scheduled_event_reminds_its_interested_members(
    tmp_path: Path,
) -> None:
    async with community(tmp_path) as c:
        fake = c.fake
        fake.say(DAN, "hello")  # known to the bot, but not interested
        start = datetime.now(UTC).replace(microsecond=123000) + timedelta(hours=1, seconds=8)
        event = p.scheduled_event(fake.next_id(), name="Game night")
        event.update(
            scheduled_start_time=start.isoformat(),
            scheduled_end_time=(start + timedelta(hours=2)).isoformat(),
            creator_id=ADA,
            creator=p.user(ADA, "Ada"),
        )
        fake.dispatch("GUILD_SCHEDULED_EVENT_CREATE", event)
        for user in (BEA, CYD):
            fake.dispatch(
                "GUILD_SCHEDULED_EVENT_USER_ADD",
                {"guild_scheduled_event_id": event["id"], "user_id": user, "guild_id": p.GUILD},
            )
        iid = await c.command(ADA, "event", "list")
        listed = fake._text(await c.followup(iid, "Game night"))
        assert "https://meet.example/game" in listed
        for user in (BEA, CYD):
            reminder = fake._text(await c.dm(user, "Reminder"))
            assert "Game night" in reminder and "1 hour" in reminder
        assert not [m for m in c.bot_posts(fake.dm_channel(DAN)) if "Reminder" in fake._text(m)]


async def test_a_dm_round_answered_by_dm_reply_edit_and_dm_button(tmp_path: Path) -> None:
    async with community(tmp_path) as c:
        fake = c.fake
        for user in (BEA, CYD):
            fake.say(user, "hello")  # the bot meets them
        await c.command(ADA, "checkin", "open", prompt="What made you smile?", dm=True)
        asked = await c.dm(BEA, "What made you smile?")
        await c.dm(CYD, "What made you smile?")
        mid = fake.say(BEA, "A dog", channel=fake.dm_channel(BEA))
        await c.dm(BEA, "answer is in")
        fake.edit(mid, "A dog on a skateboard")
        await c.dm(BEA, "answer is updated")
        question = await c.dm(CYD, "What made you smile?")
        _, passing = custom_ids(question)
        press = fake.press(CYD, question["id"], passing)
        await fake.answered_within(press)
        await status(c, "1 answered, 1 passed")
        await c.command(ADA, "checkin", "close")
        text = fake._text(await c.post("Check-in closed"))
        assert "A dog on a skateboard" in text and text.count("A dog") == 1
        assert asked["components"], "the DM question carries the buttons too"
