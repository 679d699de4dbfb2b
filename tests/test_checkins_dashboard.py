"""The dashboard's check-ins section over HTTP, on SQLite and PostgreSQL: rounds, answers,
the participation charts and the export buttons."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import event
from sqlmodel import select

from adapters.contract import Sent
from bot.checkins import export
from bot.checkins.models import CheckinAnswer, CheckinRound, RoundState
from bot.dashboard.auth import COOKIE, open_session
from bot.dashboard.pages import routes
from bot.models import Identity
from bot.testing import Harness
from bot.web import build_app
from tests.test_checkins import answer_by_button


@asynccontextmanager
async def dashboard(h: Harness, user: str = "ada") -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the dashboard, signed in as `user` (who has talked to the bot)."""
    async with h.bot.db.reader() as s:
        member_id = (
            await s.exec(select(Identity.member_id).where(Identity.external_id == user))
        ).one()
    async with h.bot.db.session() as s:
        cookie = await open_session(s, member_id, h.clock.now())
    transport = httpx.ASGITransport(build_app(routes(h.bot)))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        client.cookies.set(COOKIE, cookie, path="/dashboard")
        yield client


def article(page: str, round_id: int) -> str:
    pattern = rf'<article class="round[^"]*" aria-label="Round {round_id}:.*?</article>'
    found = re.search(pattern, page)
    assert found, f"round {round_id} is not on the page"
    return found.group(0)


def chart(page: str, title: str) -> str:
    found = re.search(rf'<svg[^>]*aria-label="{title}".*?</svg>', page)
    assert found, f"no chart {title!r}"
    return found.group(0)


async def two_rounds(h: Harness) -> None:
    """A named round (closed) and, a day later, an anonymous one (still open)."""
    await h.say("ada", 'checkin open "What went well?"')
    await h.say("bob", "checkin Kindness <b>bold</b>")
    await h.say("carol", "checkin pass")
    await h.say("ada", "checkin close")
    await h.advance(timedelta(days=1))
    await h.say("ada", 'checkin open "What worries you?" --anonymous')
    await answer_by_button(h, "bob", "Deadlines", "What worries you?")
    await answer_by_button(h, "dan", "Money", "What worries you?")


@contextmanager
def statements(h: Harness) -> Iterator[list[tuple[str, Any]]]:
    """Every SQL statement the bot's database runs meanwhile, with its parameters."""
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, sql: str, params: Any, *_: Any) -> None:
        seen.append((sql, params))

    engine = h.bot.db.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def test_rounds_are_listed_newest_first_with_their_answers_and_charts(
    harness: Harness,
) -> None:
    h = harness
    await two_rounds(h)
    async with dashboard(h) as web:
        with statements(h) as seen:
            r = await web.get("/dashboard")
    assert r.status_code == 200
    page = r.text
    section = page[page.index('<section id="checkins"') :]
    assert section.index('aria-label="Round 2:') < section.index('aria-label="Round 1:')
    named = article(page, 1)
    assert "What went well?" in named and "closed" in named
    assert "1 answered, 1 passed" in named
    assert "<strong>Bob</strong>: Kindness &lt;b&gt;bold&lt;/b&gt;" in named
    assert "Carol" not in named  # a pass is counted, not listed
    assert 'href="/dashboard/checkins/csv?round=1"' in named
    assert 'href="/dashboard/checkins/md?round=1"' in named
    anonymous = article(page, 2)
    assert "open" in anonymous and "anonymous" in anonymous
    assert "2 answered, 0 passed (without names)" in anonymous
    assert "<li>Deadlines</li><li>Money</li>" in anonymous
    assert not {"Bob", "Dan", "bob", "dan"} & set(re.findall(r"\w+", anonymous))

    per_round = chart(page, "Answers and passes per round")
    assert ">02 Mar: Answered 1, Passed 1; 03 Mar: Answered 2, Passed 0</desc>" in per_round
    per_platform = chart(page, "Members reached per platform")
    assert ">fake: Members, named 2, Replies, anonymous 2</desc>" in per_platform

    # Who answered the anonymous round (2) is never asked for: no statement that reads an
    # answer's member or voter hash carries that round's id.
    readers = [
        params
        for sql, params in seen
        if "checkin_answer" in sql and re.search(r"checkin_answer\.(member_id|voter_hash)", sql)
    ]
    assert readers, "the named round's answers were read with their members"
    for params in readers:
        values = params.values() if isinstance(params, dict) else params
        assert 2 not in list(values)


async def test_the_export_buttons_serve_the_exporters_files(harness: Harness) -> None:
    h = harness
    await two_rounds(h)
    async with dashboard(h) as web:
        for fmt in export.FORMATS:
            r = await web.get(f"/dashboard/checkins/{fmt}?round=1")
            assert r.status_code == 200
            assert r.headers["content-type"] == export.MEDIA[fmt]
            assert r.headers["content-disposition"] == f'attachment; filename="checkin-1.{fmt}"'
            async with h.bot.db.reader() as s:
                assert r.text == export.render(await export.load_export(s, 1), fmt)
        csv = (await web.get("/dashboard/checkins/csv?round=1")).text
        assert "Bob,Kindness <b>bold</b>,no" in csv
        md = (await web.get("/dashboard/checkins/md?round=2")).text
        assert "- Deadlines\n- Money\n" in md and "Bob" not in md
        for query in ("round=99", "round=x", ""):
            missing = await web.get(f"/dashboard/checkins/json?{query}")
            assert (missing.status_code, missing.text) == (404, "There is no such check-in round.")
        assert (await web.get("/dashboard/checkins/pdf?round=1")).status_code == 403
    async with dashboard(h, "bob") as member:
        refused = await member.get("/dashboard/checkins/csv?round=1")
        assert (refused.status_code, refused.text) == (403, "Forbidden")


async def test_a_community_without_rounds_is_told_how_to_start_one(harness: Harness) -> None:
    await harness.say("ada", "hello")
    async with dashboard(harness) as web:
        page = (await web.get("/dashboard")).text
    assert 'id="checkins"' in page and "No check-ins yet" in page


async def test_only_the_newest_rounds_are_listed_and_charted(harness: Harness) -> None:
    h = harness
    await h.say("ada", "hello")
    start = h.clock.now()
    async with h.bot.db.session() as s:
        s.add_all(
            CheckinRound(
                community_id=h.bot.community.id or 0,
                platform="fake",
                space="general",
                prompt=f"Question {n}",
                state=RoundState.CLOSED,
                opened_at=start + timedelta(days=n),
                closed_at=start + timedelta(days=n, hours=1),
            )
            for n in range(1, 26)
        )
    async with dashboard(h) as web:
        page = (await web.get("/dashboard")).text
    listed = re.findall(r'aria-label="Round \d+: Question (\d+)"', page)
    assert listed == [str(n) for n in range(25, 5, -1)]
    per_round = chart(page, "Answers and passes per round")
    labels = re.findall(r"(\d\d Mar): Answered 0", per_round)
    assert labels == [f"{d:02} Mar" for d in range(20, 28)]  # 2 March + 18..25 days


async def test_a_round_across_platforms_shows_its_answers_per_platform(database_url: str) -> None:
    """Named: counts per platform and each answer's platform. Anonymous: counts per platform
    only, kept when it closes, while its answers no longer say where they were given."""
    spaces = {"community": {"organisers": ["fake:ada"], "spaces": ["fake:main", "other:lounge"]}}
    async with Harness.open(database_url, more_platforms=("other",), config=spaces) as h:
        await h.say("carol", "help", platform="other", space="lounge")
        await h.say("ada", 'checkin open "Where are you?" --in community')
        await h.say("bob", "checkin Here")
        await h.say("carol", "checkin There", platform="other", space="lounge")
        await h.say("dan", "checkin pass", platform="other", space="lounge")
        await h.say("ada", "checkin close")
        await h.say("ada", 'checkin open "What worries you?" --anonymous --in community')
        await answer_by_button(h, "bob", "Deadlines", "What worries you?")
        other = [r for r in h.adapters["other"].records if r.text.startswith("Check-in: What")]
        [post] = [r.result for r in other]
        assert isinstance(post, Sent)
        for user, action, text in (
            ("carol", "checkin.answer", "Money"),
            ("dan", "checkin.pass", None),
        ):
            await h.feed(
                h.press(
                    user, post.message_id, action, "2", text=text, platform="other", space="lounge"
                )
            )
        async with dashboard(h) as web:
            before = (await web.get("/dashboard")).text
            await h.say("ada", "checkin close")
            after = (await web.get("/dashboard")).text
        async with h.bot.db.reader() as s:
            kept = (await s.exec(select(CheckinAnswer).where(CheckinAnswer.round_id == 2))).all()
    named = article(after, 1)
    assert per_platform(named) == ["fake 1 answered, 0 passed", "other 1 answered, 1 passed"]
    assert '<strong>Bob</strong>: Here <span class="platform">fake</span>' in named
    assert '<strong>Carol</strong>: There <span class="platform">other</span>' in named
    for page in (before, after):
        anonymous = article(page, 2)
        assert per_platform(anonymous) == [
            "fake 1 answered, 0 passed",
            "other 1 answered, 1 passed",
        ]
        assert "<li>Deadlines</li><li>Money</li>" in anonymous, "answers without their platform"
    assert [a.platform for a in kept] == [None, None, None]
    per_platform_chart = chart(after, "Members reached per platform")
    assert "fake: Members, named 1, Replies, anonymous 1" in per_platform_chart
    assert "other: Members, named 2, Replies, anonymous 2" in per_platform_chart


def per_platform(article_html: str) -> list[str]:
    found = re.search(r'<ul class="per-platform"[^>]*>(.*?)</ul>', article_html)
    assert found, "no answers per platform"
    return [re.sub(r"<[^>]+>", "", li) for li in re.findall(r"<li>(.*?)</li>", found.group(1))]
