"""Check-in rounds through the core harness, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text as sql
from sqlmodel import SQLModel, col, select

from adapters.contract import Capability, Direct, Inbound, MessageId, Sent, UserId
from adapters.fake import ALL_CAPABILITIES
from bot.checkins import export
from bot.checkins import rounds as round_logic
from bot.checkins.models import CheckinAnswer, CheckinRound, RoundState
from bot.context import Context
from bot.models import Identity, Member, Space
from bot.testing import Harness
from bot.web import build_app

PROMPT = "What do you want to see in this space?"


def post_of(h: Harness, prompt: str = PROMPT) -> Sent:
    """The platform's answer to the latest round post (its thread is where replies go)."""
    found = [r for r in h.adapter.records if r.text.startswith(f"Check-in: {prompt}")]
    assert found, "the round was not posted"
    result = found[-1].result
    assert isinstance(result, Sent)
    return result


def summaries(h: Harness) -> list[str]:
    return [t for t in h.adapter.texts(h.place()) if t.startswith("Check-in closed")]


async def reply_in_thread(h: Harness, user: str, text: str) -> list[str]:
    thread = post_of(h).thread
    assert thread is not None
    before = len(h.adapter.records)
    await h.feed(h.message(user, text, thread=thread))
    return [r.text for r in h.adapter.records[before:]]


async def rounds(h: Harness) -> list[CheckinRound]:
    async with h.bot.db.reader() as s:
        return list((await s.exec(select(CheckinRound).order_by(CheckinRound.id))).all())


async def test_a_round_opens_collects_answers_and_closes_with_a_summary(
    harness: Harness,
) -> None:
    h = harness
    replies = await h.say("ada", f'checkin open "{PROMPT}"')
    assert "Check-in 1 is open." in replies
    assert post_of(h).thread is not None
    [post] = [t for t in h.adapter.texts(h.place()) if t.startswith("Check-in:")]
    assert "`!checkin <your answer>` (or `!checkin pass`)" in post  # the fake's prefix
    [ack_bob] = await reply_in_thread(h, "bob", "Kindness")
    assert ack_bob.startswith("Thanks, your answer is in.")
    assert h.adapter.direct_texts("bob")[-1] == ack_bob
    await h.say("carol", "checkin Curiosity")
    await h.say("carol", "checkin Curiosity and patience")
    [ack_dan] = await h.say("dan", "checkin pass")
    assert ack_dan.startswith("Pass noted")
    await h.say("ada", "checkin close")
    [summary] = summaries(h)
    assert summary.startswith(f"Check-in closed: {PROMPT}\n2 answers, 1 pass.")
    assert "• Bob: Kindness" in summary
    assert "• Carol: Curiosity and patience" in summary
    assert "Curiosity\n" not in summary and "Dan" not in summary
    [late] = await h.say("erin", "checkin too late")
    assert "closed" in late
    assert (await rounds(h))[0].state == RoundState.CLOSED


async def test_members_cannot_open_or_close(harness: Harness) -> None:
    [reply] = await harness.say("bob", 'checkin open "Hello?"')
    assert "needs the catalyst or organiser role" in reply
    assert await rounds(harness) == []


async def test_one_open_round_per_space_and_clear_errors(harness: Harness) -> None:
    h = harness
    [none] = await h.say("bob", "checkin hello")
    assert "no check-in open here" in none
    await h.say("ada", f'checkin open "{PROMPT}"')
    [again] = await h.say("ada", 'checkin open "Another?"')
    assert "still open here" in again
    [past] = await h.say("ada", 'checkin open "X" --until 2020-01-01 10:00', space="other")
    assert "in the past" in past
    [order] = await h.say("ada", 'checkin open "X" --until in 1h --remind in 2h', space="other")
    assert "reminder must come before" in order
    [words] = await h.say("ada", "checkin open How are you", space="other")
    assert "in quotes" in words
    assert len(await rounds(h)) == 1


async def test_a_command_named_in_a_thread_is_written_as_the_platform_takes_it_there(
    harness: Harness,
) -> None:
    h = harness
    h.adapter.thread_command_prefix = "@bot "  # as on Slack, which runs no `/` in a thread
    await h.say("ada", f'checkin open "{PROMPT}"')
    [here] = await h.say("ada", 'checkin open "Another?"')
    assert "`!checkin close`" in here
    [in_thread] = await h.say("ada", 'checkin open "Another?"', thread="t1")
    assert "`@bot checkin close`" in in_thread


async def test_prompt_ids_come_from_the_library(harness: Harness) -> None:
    h = harness
    await h.say("ada", "checkin open care-qualities")
    [r] = await rounds(h)
    assert r.prompt_id == "care-qualities"
    assert r.prompt.startswith("Which behaviours")
    [unknown] = await h.say("ada", "checkin open care-qualitis", space="other")
    assert "Did you mean 'care-qualities'" in unknown


async def test_dm_asks_every_member_but_paused_ones_and_dm_replies_answer(
    harness: Harness,
) -> None:
    h = harness
    for user in ("bob", "carol"):
        await h.say(user, "help")
    await h.say("carol", "me pause")
    await h.say("ada", f'checkin open "{PROMPT}" --dm')
    assert any(PROMPT in t for t in h.adapter.direct_texts("bob"))
    assert not any(PROMPT in t for t in h.adapter.direct_texts("carol"))
    dm = h.place("dm-bob", direct=True)
    await h.feed(h.message("bob", "From my DM", space=dm.space, direct=True))
    assert h.adapter.texts(dm)[-1].startswith("Thanks, your answer is in.")
    await h.say("ada", "checkin close")
    assert "• Bob: From my DM" in summaries(h)[0]
    await h.feed(h.message("bob", "after close", space=dm.space, direct=True))
    assert "closed" in h.adapter.texts(dm)[-1]


async def test_reminder_fires_at_its_time_to_non_responders_only(harness: Harness) -> None:
    h = harness
    for user in ("bob", "carol", "dan", "erin"):
        await h.say(user, "help")
    await h.say("erin", "me pause")
    await h.say("ada", f'checkin open "{PROMPT}" --until in 2h --remind in 1h')
    await h.say("bob", "checkin yes")
    await h.say("carol", "checkin pass")
    await h.advance(timedelta(minutes=59))
    assert not any("reminder" in t for t in h.adapter.texts())
    await h.advance(timedelta(minutes=1))
    reminded = {
        r.to.user_id
        for r in h.adapter.records
        if isinstance(r.to, Direct) and r.text.startswith("A reminder")
    }
    assert reminded == {"dan", "ada"}
    await h.advance(timedelta(hours=3))
    assert len([t for t in h.adapter.texts() if t.startswith("A reminder")]) == 2


async def test_deadline_closes_once_and_a_closed_round_ignores_it(harness: Harness) -> None:
    h = harness
    await h.say("ada", f'checkin open "{PROMPT}" --until in 1h')
    await h.say("bob", "checkin here")
    await h.advance(timedelta(minutes=59))
    assert summaries(h) == []
    await h.advance(timedelta(minutes=1))
    [summary] = summaries(h)
    assert "1 answer, 0 passes" in summary
    [r] = await rounds(h)
    assert r.closed_at == h.clock.now()
    await h.say("ada", 'checkin open "Second" --until in 1h')
    await h.say("ada", "checkin close")
    await h.advance(timedelta(hours=2))
    assert len(summaries(h)) == 2


async def test_overdue_reminder_and_deadline_fire_exactly_once_after_restarts(
    sqlite_url: str,
) -> None:
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def reminders(h: Harness) -> list[str]:
        return [t for t in h.adapter.texts() if t.startswith("A reminder")]

    async with Harness.open(sqlite_url, start=start) as h:
        await h.say("ada", f'checkin open "{PROMPT}" --until in 3h --remind in 1h')
        await h.say("bob", "checkin before the crash")
        await h.say("carol", "help")
    async with Harness.open(sqlite_url, start=start + timedelta(hours=2)) as h:
        assert len(reminders(h)) == 2  # ada and carol; bob answered
        assert summaries(h) == []
    async with Harness.open(sqlite_url, start=start + timedelta(hours=2, minutes=30)) as h:
        assert h.adapter.records == []
    async with Harness.open(sqlite_url, start=start + timedelta(hours=5)) as h:
        [summary] = summaries(h)
        assert "• Bob: before the crash" in summary
        assert reminders(h) == []
    async with Harness.open(sqlite_url, start=start + timedelta(hours=6)) as h:
        assert h.adapter.records == []
        [r] = await rounds(h)
        assert r.state == RoundState.CLOSED
        assert r.closed_at == start + timedelta(hours=5)


async def test_a_reminder_overtaken_by_the_deadline_is_not_sent(sqlite_url: str) -> None:
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    async with Harness.open(sqlite_url, start=start) as h:
        await h.say("ada", f'checkin open "{PROMPT}" --until in 1h --remind in 30m')
    async with Harness.open(sqlite_url, start=start + timedelta(hours=5)) as h:
        assert len(summaries(h)) == 1
        assert not [t for t in h.adapter.texts() if t.startswith("A reminder")]


BAD_INPUT = [
    "x" * 10_000,
    "",
    "🙂🎉🌱",
    "مرحبا بالجميع، أنا هنا",
    "@channel @everyone @room <!here> please read",
]


async def test_bad_input_is_stored_and_echoed_faithfully(harness: Harness) -> None:
    h = harness
    await h.say("ada", f'checkin open "{PROMPT}"')
    for i, text in enumerate(BAD_INPUT):
        await reply_in_thread(h, f"user{i}", text)
    async with h.bot.db.reader() as s:
        stored = sorted(a.text for a in (await s.exec(select(CheckinAnswer))).all())
    assert stored == sorted(BAD_INPUT)
    await h.say("ada", "checkin close")
    [summary] = summaries(h)
    assert "5 answers, 0 passes" in summary
    for i, text in enumerate(BAD_INPUT):
        assert f"• User{i}: {text}\n" in summary + "\n"


async def test_an_answer_over_the_limit_is_refused_clearly(harness: Harness) -> None:
    await harness.say("ada", f'checkin open "{PROMPT}"')
    [reply] = await reply_in_thread(harness, "bob", "y" * 20_001)
    assert "The most I take is 20,000" in reply


async def test_status_counts_and_names_who_has_not_answered(harness: Harness) -> None:
    h = harness
    await h.say("carol", "help")
    await h.say("ada", f'checkin open "{PROMPT}"')
    await h.say("bob", "checkin yes")
    [status] = await h.say("ada", "checkin status")
    assert "1 answered, 0 passed. Not yet: Ada, Carol." in status


async def test_export_link_serves_each_format_then_expires(harness: Harness) -> None:
    h = harness
    await h.say("ada", f'checkin open "{PROMPT}"')
    await h.say("bob", 'checkin I say "yes", and, commas')
    await h.say("carol", "checkin pass")
    [member] = await h.say("bob", "checkin export csv")
    assert "needs the catalyst or organiser role" in member
    app = build_app(export.http_routes(h.bot))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as web:
        bodies = {}
        for fmt in export.FORMATS:
            [reply] = await h.say("ada", f"checkin export {fmt}")
            url = reply.rsplit(" ", 1)[-1]
            assert url.startswith("http://127.0.0.1:8080/checkins/export/")
            response = await web.get(url.removeprefix("http://127.0.0.1:8080"))
            assert response.status_code == 200
            bodies[fmt] = response.text
        assert 'Bob,"I say ""yes"", and, commas",no' in bodies["csv"]
        assert ",Carol,,yes," in bodies["csv"]
        assert '"answer": "I say \\"yes\\", and, commas"' in bodies["json"]
        assert '- **Bob**: I say "yes", and, commas' in bodies["md"]
        [reply] = await h.say("ada", "checkin export md")
        spanish = await web.get(
            reply.rsplit(" ", 1)[-1].removeprefix("http://127.0.0.1:8080"),
            headers={"Accept-Language": "es-MX,es;q=0.9"},
        )
        assert spanish.text.startswith(f"# Check-in 1: {PROMPT}\n\n1 respondieron, 1 pasaron.")
        h.clock.advance(timedelta(minutes=15))
        assert (await web.get(url.removeprefix("http://127.0.0.1:8080"))).status_code == 404
        assert (await web.get("/checkins/export/guess")).status_code == 404


async def assert_unlinkable(
    h: Harness,
    answers: list[str],
    gone: list[str],
    moments: Sequence[datetime] = (),
    events: Sequence[str] = (),
) -> None:
    """No row of any table holds an answer together with anything naming a member.

    Every table in the metadata is read: a row that contains an answer's text must have no
    member foreign key set and mention no member's name or platform id; no round keeps its
    key and no answer its voter hash; replaced texts are nowhere. No row keeps the moment an
    answer came (to the second) or, but for the re-delivery records, the id of the event that
    brought it, and no space is known
    only because someone answered in it privately.
    """
    seconds = {m.replace(microsecond=0) for m in moments}
    async with h.bot.db.reader() as s:
        people = {m.display_name for m in (await s.exec(select(Member))).all()}
        people |= {i.external_id for i in (await s.exec(select(Identity))).all()}
        checked = 0
        for table in SQLModel.metadata.sorted_tables:
            member_columns = [
                c.name
                for c in table.columns
                if any(fk.column.table.name == "member" for fk in c.foreign_keys)
            ]
            for row in (await s.exec(table.select())).mappings().all():
                blob = "\n".join(
                    v if isinstance(v, str) else json.dumps(v, default=str) for v in row.values()
                )
                assert not any(text in blob for text in gone), (table.name, dict(row))
                if table.name != "seenevent":  # its ids are what re-deliveries are matched by
                    assert not any(e in blob for e in events), (table.name, dict(row))
                times = {v.replace(microsecond=0) for v in row.values() if isinstance(v, datetime)}
                assert not times & seconds, (table.name, dict(row))
                if not any(text in blob for text in answers):
                    continue
                checked += 1
                assert all(row[c] is None for c in member_columns), (table.name, dict(row))
                named = [p for p in people if re.search(rf"\b{re.escape(p)}\b", blob)]
                assert named == [], (table.name, named)
        assert checked >= 3  # the answers themselves, and the summary in the outbox
        assert all(r.hmac_key is None for r in (await s.exec(select(CheckinRound))).all())
        stored = (await s.exec(select(CheckinAnswer))).all()
        assert all(a.voter_hash is None and a.answered_at is None for a in stored)
        assert not (await s.exec(select(Space).where(col(Space.direct)))).all()


async def answer_by_button(h: Harness, user: str, text: str, prompt: str = PROMPT) -> None:
    """Press the round post's Pass, or its Answer and type `text` in the form."""
    post = post_of(h, prompt)
    [r] = [r for r in await rounds(h) if r.state == RoundState.OPEN]
    if text == "pass":
        await h.feed(h.press(user, post.message_id, "checkin.pass", str(r.id)))
    else:
        await h.feed(h.press(user, post.message_id, "checkin.answer", str(r.id), text=text))


@pytest.mark.parametrize("how", ["thread", "command", "dm", "form"])
async def test_anonymous_answers_cannot_be_linked_to_anyone_after_close(
    database_url: str, how: str
) -> None:
    """Typed answers where the platform has no forms; the form where it has (typed ones are
    refused there: see test_checkins_buttons)."""
    forms = ALL_CAPABILITIES if how == "form" else ALL_CAPABILITIES - {Capability.MODALS}
    async with Harness.open(database_url, capabilities=forms) as h:
        await _anonymous_round_is_unlinkable(h, how)


async def _anonymous_round_is_unlinkable(h: Harness, how: str) -> None:
    for user in ("bob", "carol", "dan"):
        await h.say(user, "help")
    await h.say("ada", f'checkin open "{PROMPT}" --anonymous --dm --remind in 1h')
    moments: list[datetime] = []
    events: list[str] = []

    async def answer(user: str, text: str) -> None:
        h.clock.advance(timedelta(seconds=7))  # each answer at a moment of its own
        post = post_of(h)
        if how == "thread":
            event: Inbound = h.message(user, text, thread=post.thread)
        elif how == "command":
            event = h.command(user, f"checkin {text}")
        elif how == "form" and text == "pass":
            event = h.press(user, post.message_id, "checkin.pass", "1")
        elif how == "form":
            event = h.press(user, post.message_id, "checkin.answer", "1", text=text)
        else:
            event = h.message(user, text, space=f"dm-{user}", direct=True)
        moments.append(h.clock.now())
        events.append(event.event_id)
        await h.feed(event)

    texts = {"bob": "first draft", "carol": "secret two", "dan": "pass"}
    for user, text in texts.items():
        await answer(user, text)
    await answer("bob", "secret one, edited")
    h.clock.advance(timedelta(seconds=1))
    [status] = await h.say("ada", "checkin status")
    assert "2 answered, 1 passed." in status and "Not yet" not in status
    await h.advance(timedelta(hours=1))
    reminded = {r.to.user_id for r in h.adapter.records if r.text.startswith("A reminder")}
    assert reminded == {UserId("ada")}
    await h.say("ada", "checkin close")
    [summary] = summaries(h)
    assert "2 answers, 1 pass." in summary
    assert "• secret one, edited" in summary and "• secret two" in summary
    assert "Bob" not in summary and "Carol" not in summary
    await assert_unlinkable(
        h, ["secret one, edited", "secret two"], ["first draft"], moments, events
    )
    acks = [r for r in h.adapter.records if "answer again before the round closes" in r.text]
    assert len(acks) == 4 and len({r.text for r in acks}) == 1  # answered, edited or passed


async def test_recurring_rounds_follow_the_wall_clock_across_dst(database_url: str) -> None:
    # Sunday 22 March 2026, 12:00 in London (GMT); BST starts on 29 March, ends 25 October.
    start = datetime(2026, 3, 22, 12, 0, tzinfo=UTC)
    async with Harness.open(database_url, start=start) as h:
        [reply] = await h.say(
            "ada", f'checkin open "{PROMPT}" --every "monday 09:30" --until 3h --remind 1h'
        )
        assert "The first one opens Mon 23 Mar 09:30 (Europe/London)." in reply
        expected = [
            datetime(2026, 3, 23, 9, 30, tzinfo=UTC),  # GMT
            datetime(2026, 3, 30, 8, 30, tzinfo=UTC),  # BST
        ]
        for at in expected:
            await h.advance(at - h.clock.now() - timedelta(minutes=1))
            opened = len(await rounds(h))
            await h.advance(timedelta(minutes=1))
            assert len(await rounds(h)) == opened + 1
            assert (await rounds(h))[-1].opened_at == at
            assert (await rounds(h))[-1].deadline == at + timedelta(hours=3)
    autumn = datetime(2026, 10, 25, 12, 0, tzinfo=UTC)
    async with Harness.open(database_url, start=autumn) as h:
        assert "checkin-series:1" in h.scheduler.series
        await h.advance(datetime(2026, 10, 26, 9, 30, tzinfo=UTC) - h.clock.now())
        last = (await rounds(h))[-1]
        assert last.opened_at == datetime(2026, 10, 26, 9, 30, tzinfo=UTC)  # GMT again
        assert last.series_id == 1
        await h.say("ada", "checkin stop")
        assert "checkin-series:1" not in h.scheduler.series
        count = len(await rounds(h))
        await h.advance(timedelta(days=8))
        assert len(await rounds(h)) == count


async def test_a_new_occurrence_closes_the_last_one(harness: Harness) -> None:
    h = harness
    await h.say("ada", f'checkin open "{PROMPT}" --every daily')
    assert len(await rounds(h)) == 1  # "daily" at this minute: the first opens now
    await h.advance(timedelta(days=2))
    states = [r.state for r in await rounds(h)]
    assert states == [RoundState.CLOSED, RoundState.CLOSED, RoundState.OPEN]
    assert len(summaries(h)) == 2


async def test_concurrent_answers_by_one_member_keep_one_answer(harness: Harness) -> None:
    h = harness
    await h.say("ada", f'checkin open "{PROMPT}"')
    await h.say("bob", "help")  # bob is a member; his first answers below race each other
    before = len(h.adapter.records)
    await asyncio.gather(*(h.bot.handle(h.command("bob", f"checkin take {i}")) for i in range(5)))
    await h.settle()
    acks = [r.text for r in h.adapter.records[before:]]
    assert len(acks) == 5 and all("your answer is" in a for a in acks), acks
    assert sum("your answer is in" in a for a in acks) == 1
    async with h.bot.db.reader() as s:
        [stored] = (await s.exec(select(CheckinAnswer))).all()
    assert stored.text.startswith("take ")


async def test_a_fortnightly_series_typed_on_a_sunday_first_opens_that_thursday(
    sqlite_url: str,
) -> None:
    start = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)  # a Sunday
    async with Harness.open(sqlite_url, start=start) as h:
        [reply] = await h.say(
            "ada", f'checkin open "{PROMPT}" --every "every 2 weeks on thursday 18:00"'
        )
        assert "The first one opens Thu 05 Mar 18:00 (Europe/London)." in reply
        assert reply.endswith(
            "Next:\n- Thu 5 Mar 2026, 18:00 Europe/London\n- Thu 19 Mar 2026, 18:00 "
            "Europe/London\n- Thu 2 Apr 2026, 18:00 Europe/London"
        )
        await h.advance(datetime(2026, 3, 5, 18, 0, tzinfo=UTC) - h.clock.now())
        assert [r.opened_at for r in await rounds(h)] == [datetime(2026, 3, 5, 18, tzinfo=UTC)]
        replies = await h.say("ada", f'checkin open "{PROMPT}" --every weekly', space="other")
        said = "“weekly” has no time of day, so it runs at 18:00, the time you typed it"
        assert any(said in r for r in replies)


async def test_anonymous_answers_are_shuffled_at_close(harness: Harness) -> None:
    """Neither the stored rows nor the summary keep the order people answered in (which the
    platform, or anyone watching the room, could match to who answered when)."""
    h = harness
    await h.say("ada", f'checkin open "{PROMPT}" --anonymous')
    given = [f"answer {i:02d}" for i in range(12)]
    for i, text in enumerate(given):
        await answer_by_button(h, f"member{i}", text)
    await h.say("ada", "checkin close")
    [summary] = summaries(h)
    in_summary = re.findall(r"• (answer \d\d)", summary)
    async with h.bot.db.reader() as s:
        stored = [
            a.text for a in (await s.exec(select(CheckinAnswer).order_by(col(CheckinAnswer.id))))
        ]
    assert sorted(in_summary) == sorted(stored) == given
    # Kept in order by chance once in 12! (about 479 million) closes.
    assert in_summary != given and stored != given


async def test_a_reply_before_the_posts_thread_is_recorded_is_not_lost(harness: Harness) -> None:
    """The member sees the post and replies in its thread before the bot has recorded what
    the platform answered for the post: the reply waits for it instead of being ignored."""
    h = harness
    perform = h.adapter.perform
    early: list[str] = []

    async def reply_at_once(action: Any) -> Any:
        result = await perform(action)
        if action.key.endswith(":post"):  # the post is out, its outcome not yet recorded
            reply = h.message("bob", "Quick, before the thread is known", thread=result.thread)
            early.append(reply.event_id)
            await h.bot.handle(reply)
        return result

    h.adapter.perform = reply_at_once  # type: ignore[method-assign]
    await h.say("ada", f'checkin open "{PROMPT}"')
    h.adapter.perform = perform  # type: ignore[method-assign]
    assert early  # the race was forced
    async with asyncio.timeout(10):
        while await h.bot.background_done():  # the early reply, handled again
            await h.settle()
    [ack] = h.adapter.direct_texts("bob")
    assert ack.startswith("Thanks, your answer is in.")
    async with h.bot.db.reader() as s:
        [answer] = (await s.exec(select(CheckinAnswer))).all()
    assert answer.text == "Quick, before the thread is known"


async def test_a_plain_reply_to_the_post_answers_the_round(harness: Harness) -> None:
    h = harness
    await h.say("ada", f'checkin open "{PROMPT}"')
    post = post_of(h)
    elsewhere = replace(h.message("carol", "Not an answer"), replies_to=MessageId("other"))
    await h.feed(elsewhere)
    await h.feed(replace(h.message("bob", "Kindness"), replies_to=post.message_id))
    [ack] = h.adapter.direct_texts("bob")
    assert ack.startswith("Thanks, your answer is in.")
    assert h.adapter.direct_texts("carol") == []
    async with h.bot.db.reader() as s:
        assert [a.text for a in (await s.exec(select(CheckinAnswer))).all()] == ["Kindness"]


async def test_answers_racing_the_close_are_in_its_summary_or_refused(harness: Harness) -> None:
    """Answers and the close arrive together (on PostgreSQL in batches handled side by side,
    the answers holding the round's lock shared, the close waiting for it alone): an answer
    acknowledged as in is in the summary, any other was told the round had closed."""
    h = harness
    await h.say("ada", f'checkin open "{PROMPT}"')
    people = [f"member{i:02d}" for i in range(30)]
    for user in people:
        await h.say(user, "help")
    events = [h.command(user, f"checkin said by {user}") for user in people]
    events.insert(15, h.command("ada", "checkin close"))
    await asyncio.gather(*(h.bot.handle(e) for e in events))
    await h.settle()
    [summary] = summaries(h)
    acks = {user: h.adapter.direct_texts(user)[-1] for user in people}
    taken = {u for u, ack in acks.items() if ack.startswith("Thanks, your answer is in.")}
    refused = {u for u, ack in acks.items() if "closed" in ack}
    assert taken and refused  # the race was run
    assert taken | refused == set(people) and not taken & refused
    assert {u for u in people if f"said by {u}\n" in summary + "\n"} == taken
    assert f"{len(taken)} answers" in summary


async def test_the_close_waits_for_an_answer_holding_the_round(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL an answer reads its round with a shared lock: a close arriving while the
    answer's transaction is still open waits for it, and its summary has the answer."""
    async with Harness.open(postgres_url) as h:
        await h.say("ada", f'checkin open "{PROMPT}"')
        await h.say("bob", "help")
        holding, go = asyncio.Event(), asyncio.Event()
        answer = round_logic.answer
        backend: list[int] = []

        async def answer_later(ctx: Context, *args: Any, **kw: Any) -> None:
            raw = await (await ctx.session.connection()).get_raw_connection()
            backend.append(raw.driver_connection.get_server_pid())
            holding.set()  # the round is read, and locked, in this transaction
            await go.wait()
            await answer(ctx, *args, **kw)

        monkeypatch.setattr(round_logic, "answer", answer_later)
        answering = asyncio.create_task(h.bot.handle(h.command("bob", "checkin just in time")))
        async with asyncio.timeout(10):
            await holding.wait()
        # Beside the lanes, which might put ada behind bob: the close runs on its own.
        closing = asyncio.create_task(h.bot._handle_batch([h.command("ada", "checkin close")]))
        async with asyncio.timeout(10):
            while not closing.done() and not await blocked_by(h, backend[0]):  # noqa: ASYNC110
                await asyncio.sleep(0.02)  # the server's lock table, polled
        assert not closing.done(), "the close did not wait for the answer in flight"
        go.set()
        await asyncio.gather(answering, closing)
        await h.settle()
        [summary] = summaries(h)
        assert "1 answer" in summary and "just in time" in summary
        assert h.adapter.direct_texts("bob")[-1].startswith("Thanks, your answer is in.")


async def blocked_by(h: Harness, backend: int) -> bool:
    """Whether a session waits for a lock that the server process `backend` holds."""
    async with h.bot.db.reader() as s:
        waiting = await s.exec(
            sql("SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))"),
            params={"pid": backend},
        )
        return bool(waiting.scalar())
