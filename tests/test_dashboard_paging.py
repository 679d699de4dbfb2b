"""Every dashboard list comes a page at a time and can be searched: 2,000 members make a page
of 50 rows, not a 1.3 MB page."""

from __future__ import annotations

import re
from datetime import timedelta

from bot.checkins.models import CheckinRound, RoundState
from bot.dashboard.paging import PAGE_SIZE
from bot.events.models import Event
from bot.models import AuditEntry, Identity, Member
from bot.testing import Harness
from tests.test_checkins_dashboard import dashboard

MEMBERS = 2000


def section(page: str, key: str) -> str:
    found = re.search(rf'<section id="{key}".*?</section>', page, re.S)
    assert found, f"no {key} section"
    return found.group(0)


def names(page: str) -> list[str]:
    return re.findall(r'<td class="name">([^<]*)</td>', page)


async def crowd(h: Harness) -> None:
    """ada (the organiser, who signs in) and 2,000 members, each with a web identity, and an
    audit entry about each."""
    await h.say("ada", "hello")
    community, now = h.bot.community.id, h.clock.now()
    async with h.bot.db.session() as s:
        people = [
            Member(community_id=community, display_name=f"person {i:04d}", created_at=now)
            for i in range(MEMBERS)
        ]
        s.add_all(people)
        await s.flush()
        for m in people:
            name, earlier = m.display_name, now - timedelta(minutes=1)
            s.add(
                Identity(
                    member_id=m.id or 0, platform="web", external_id=f"p{m.id}", display_name=name
                )
            )
            s.add(
                AuditEntry(
                    community_id=community,
                    action="role.change",
                    detail={"member_id": m.id},
                    at=earlier,
                )
            )


async def test_members_come_a_page_at_a_time(database_url: str) -> None:
    async with Harness.open(database_url) as h:
        await crowd(h)
        async with dashboard(h) as web:
            first = await web.get("/dashboard")
            last = await web.get("/dashboard", params={"members_page": "41"})
            beyond = await web.get("/dashboard", params={"members_page": "9" * 30})
    assert first.status_code == 200 and len(first.content) < 200_000
    assert names(first.text)[:PAGE_SIZE] == ["Ada"] + [f"person {i:04d}" for i in range(49)]
    assert "1–50 of 2001" in first.text and 'rel="next"' in first.text
    assert 'href="/dashboard?members_page=2#members"' in first.text
    assert names(last.text)[:1] == ["person 1999"] and "2001–2001 of 2001" in last.text
    assert 'rel="next"' not in section(last.text, "members")
    assert beyond.status_code == 200 and "person 0000" in beyond.text  # an absurd page is page 1
    chart = re.search(r'<svg[^>]*aria-label="People per platform, by role".*?</svg>', first.text)
    assert chart and 'data-value="2000"' in chart.group(0)  # the chart counts everyone


async def test_members_are_found_by_name_or_platform_id(database_url: str) -> None:
    async with Harness.open(database_url) as h:
        await crowd(h)
        async with dashboard(h) as web:
            by_name = await web.get("/dashboard", params={"members_q": "PERSON 123"})
            by_id = await web.get("/dashboard", params={"members_q": "web:"})
            one_id = await web.get("/dashboard", params={"members_q": "p17"})
            literal = await web.get("/dashboard", params={"members_q": "%"})
            nobody = await web.get("/dashboard", params={"members_q": "zebra"})
    found = names(by_name.text)
    assert found[: found.index("person 1239") + 1] == [f"person {i}" for i in range(1230, 1240)]
    assert "1–10 of 10" in by_name.text
    assert 'value="PERSON 123"' in by_name.text  # the box shows what was searched
    assert "web:p17" in section(one_id.text, "members")
    assert "Nothing matches." in section(by_id.text, "members")  # ids are stored without "web:"
    assert "Nothing matches." in section(literal.text, "members")  # % is no wildcard here
    assert "Nothing matches." in section(nobody.text, "members")


async def test_the_audit_log_comes_a_page_at_a_time_and_is_searchable(database_url: str) -> None:
    async with Harness.open(database_url) as h:
        await crowd(h)
        await h.say("bob", "hello")
        await h.say("ada", "role catalyst bob")
        async with dashboard(h) as web:
            first = await web.get("/dashboard")
            second = await web.get("/dashboard", params={"audit_page": "2", "members_page": "3"})
            by_who = await web.get("/dashboard", params={"audit_q": "ada"})
    audit = first.text.split('id="audit"')[1]
    assert audit.count("<tr>") == PAGE_SIZE + 1 and "1–50 of 2001" in audit
    assert "member: Bob" in audit.split("</tr>")[1]  # newest first
    assert "51–100 of 2001" in second.text.split('id="audit"')[1]
    # the other list kept its place
    assert "101–150 of 2002" in second.text.split('id="members"')[1]
    assert "1–1 of 1" in by_who.text.split('id="audit"')[1]


async def test_check_in_rounds_and_events_page_and_search_too(database_url: str) -> None:
    async with Harness.open(database_url) as h:
        await h.say("ada", "hello")
        start = h.clock.now()
        async with h.bot.db.session() as s:
            s.add_all(
                CheckinRound(
                    community_id=h.bot.community.id or 0, platform="fake", space="general",
                    prompt=f"Question {n}", state=RoundState.CLOSED,
                    opened_at=start + timedelta(days=n),
                    closed_at=start + timedelta(days=n, hours=1),
                )
                for n in range(1, 26)
            )  # fmt: skip
            s.add_all(
                Event(
                    community_id=h.bot.community.id or 0, uid=f"e{n}", token=f"t{n}",
                    title=f"Meetup {n}", starts_at=start + timedelta(days=n), timezone="UTC",
                    created_at=start,
                )
                for n in range(1, 31)
            )  # fmt: skip
        async with dashboard(h) as web:
            second = await web.get("/dashboard", params={"checkins_page": "2", "events_page": "2"})
            searched = await web.get(
                "/dashboard", params={"checkins_q": "question 7", "events_q": "meetup 3"}
            )
    rounds = re.findall(r'aria-label="Round \d+: Question (\d+)"', second.text)
    assert rounds == ["5", "4", "3", "2", "1"] and "21–25 of 25" in second.text
    assert "21–30 of 30" in section(second.text, "events")
    assert re.findall(r'aria-label="Round \d+: Question (\d+)"', searched.text) == ["7"]
    events = names(section(searched.text, "events"))
    assert events == ["Meetup 3", "Meetup 30"]
