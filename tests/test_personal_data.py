"""`me data` and `me forget`: a member's own data, handed over whole or erased whole, across
linked platforms."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from sqlmodel import SQLModel, select

from bot import identities
from bot.checkins.models import CheckinAnswer
from bot.models import AuditEntry, Member
from bot.testing import Harness
from bot.web import build_app
from tests.test_checkins import answer_by_button
from tests.test_identities import link

MARKS = re.compile(r"(?<!\w)(bob|Bob|my private worry)(?!\w)")


@pytest.fixture
async def h(database_url: str) -> AsyncIterator[Harness]:
    async with Harness.open(database_url, more_platforms=("other",)) as harness:
        yield harness


async def every_row(h: Harness) -> list[tuple[str, str]]:
    """Every row of every table as text, with its table's name."""
    found = []
    async with h.bot.db.reader() as s:
        for table in SQLModel.metadata.sorted_tables:
            for row in (await s.exec(table.select())).mappings().all():  # type: ignore[call-overload]
                found.append((table.name, json.dumps(dict(row), default=str, ensure_ascii=False)))
    return found


async def test_forget_leaves_nothing_of_the_member_in_any_table(h: Harness) -> None:
    await h.say("carol", "help")
    await link(h, "bob", "fake", "other")
    await h.say("bob", "me tz Europe/Paris", platform="other")
    await h.say("ada", "role catalyst bob")
    await h.say("ada", 'checkin open "What worries you?"')
    await h.say("bob", "checkin my private worry")
    await h.say("carol", "checkin nothing much")
    await h.say("ada", "checkin close")
    await h.say("ada", 'checkin open "Honestly?" --anonymous')
    await answer_by_button(h, "bob", "an anonymous thought", "Honestly?")
    await h.say("ada", 'nudge "Coffee at four" --at in 1h')
    await h.advance(timedelta(hours=2))
    assert any(MARKS.search(text) for _, text in await every_row(h))

    [warning] = await h.say("bob", "me forget")
    assert "You can't undo this" in warning and "!me forget confirm" in warning
    assert any(MARKS.search(text) for _, text in await every_row(h))
    await h.say("bob", "me forget confirm")

    left = [(table, text) for table, text in await every_row(h) if MARKS.search(text)]
    assert left == []
    async with h.bot.db.reader() as s:
        answers = [a.text for a in (await s.exec(select(CheckinAnswer))).all()]
        names = {m.display_name for m in (await s.exec(select(Member))).all()}
        audit = (await s.exec(select(AuditEntry))).all()
    assert "an anonymous thought" in answers and "nothing much" in answers
    assert names == {"Ada", "Carol"}
    assert any(a.action == "member.link" and a.actor_member_id is None for a in audit)
    [export] = [t for t in h.adapter.texts(h.place()) if t.startswith("Check-in closed")][:1]
    assert "my private worry" in export  # what was posted stays posted; the bot's copy goes


async def test_forget_needs_the_word_confirm(h: Harness) -> None:
    await h.say("bob", "checkin hello")
    await h.say("bob", "me forget now")
    async with h.bot.db.reader() as s:
        assert {m.display_name for m in (await s.exec(select(Member))).all()} == {"Bob"}


async def test_the_only_organiser_cannot_be_forgotten(h: Harness) -> None:
    await h.say("bob", "help")
    [reply] = await h.say("ada", "me forget confirm")
    assert "only organiser" in reply
    async with h.bot.db.reader() as s:
        assert "Ada" in {m.display_name for m in (await s.exec(select(Member))).all()}


async def test_a_forgotten_member_who_speaks_again_starts_afresh(h: Harness) -> None:
    await h.say("bob", "me tz Asia/Tokyo")
    await h.say("bob", "me forget confirm")
    [me] = await h.say("bob", "me")
    assert "Europe/London" in me and "a member" in me


async def fetch_data(h: Harness, link: str) -> httpx.Response:
    app = build_app([r for make in identities.router.http for r in make(h.bot)])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:
        return await client.get(link)


async def test_me_data_hands_over_every_row_about_the_member_and_no_one_else(h: Harness) -> None:
    await h.say("carol", "help")
    await link(h, "bob", "fake", "other")
    await h.say("bob", "me quiet 22:00-07:00", platform="other")
    await h.say("ada", 'checkin open "What worries you?" --dm')
    await h.say("bob", "checkin my private worry")
    await h.say("carol", "checkin carols own words")
    [reply] = await h.say("bob", "me data")
    found = re.search(r"(/me/data/\S+)", reply)
    assert found, reply
    response = await fetch_data(h, found.group(1))
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    tables = response.json()["tables"]
    assert {i["platform"] for i in tables["identity"]} == {"fake", "other"}
    assert tables["member"][0]["quiet_start"] == "22:00:00"
    assert [a["text"] for a in tables["checkin_answer"]] == ["my private worry"]
    assert tables["checkin_asked"] and tables["auditentry"]
    assert any("Check-in from" in json.dumps(r) for r in tables["outbox"])
    assert "carols own words" not in response.text and "Carol" not in response.text
    again = await fetch_data(h, found.group(1))
    assert again.status_code == 404


async def test_a_data_link_expires(h: Harness) -> None:
    [reply] = await h.say("bob", "me data")
    found = re.search(r"(/me/data/\S+)", reply)
    assert found
    await h.advance(timedelta(minutes=16))
    assert (await fetch_data(h, found.group(1))).status_code == 404
    assert (await fetch_data(h, "/me/data/made-up")).status_code == 404
