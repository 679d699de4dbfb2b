"""The dashboard's events section over HTTP, on SQLite and PostgreSQL: upcoming events, the
nudges and their delivery states, and the dead-letter list with its Retry button."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
from sqlmodel import col, select

from bot.dashboard.pages import routes
from bot.errors import PlatformError
from bot.events.models import Event
from bot.models import AuditEntry, OutboxRow, OutboxState
from bot.testing import Harness
from bot.web import build_app
from tests.test_dashboard import csrf_of

LINK = re.compile(r"http://t/dashboard/login\?token=(\S+)")


@asynccontextmanager
async def signed_in(h: Harness) -> AsyncIterator[httpx.AsyncClient]:
    """A browser-like client that asked for a dashboard link as ada and followed it."""
    await h.say("ada", "me dashboard")
    found = LINK.search(h.adapter.direct_texts("ada")[-1])
    assert found
    transport = httpx.ASGITransport(build_app(routes(h.bot)))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get(found.group(0))).status_code == 200
        signed = await client.post("/dashboard/login", data={"token": found.group(1)})
        assert signed.status_code == 303
        yield client


def section(page: str) -> str:
    found = re.search(r'<section id="events".*?</section>', page, re.S)
    assert found, "no events section"
    return found.group(0)


def row(html: str, outbox_id: int | None) -> str:
    found = re.search(rf'<tr data-outbox="{outbox_id}">.*?</tr>', html)
    assert found, f"outbox row {outbox_id} is not listed"
    return found.group(0)


async def test_events_nudges_and_a_dead_letter_retried_from_the_dashboard(
    database_url: str,
) -> None:
    config = {"web": {"public_url": "http://t/"}, "delivery": {"max_attempts": 1}}
    async with Harness.open(database_url, config=config) as h, signed_in(h) as web:
        await h.say("bob", "me quiet 08:00-12:00")  # so bob's nudge waits, pending
        await h.say("carol", "help")
        await h.say(
            "ada",
            'event add "Tea <& code>" 2026-03-05 18:00 --every weekly --remind 1h '
            '--followup 1d "How was it?"',
        )
        await h.say("ada", 'nudge "Bring a friend: https://secret.example/x" --at in 1m')
        h.adapter.fail_next(PlatformError("502 bad gateway"))  # ada's copy, sent first
        await h.advance(timedelta(minutes=2))
        async with h.bot.db.reader() as s:
            [event] = (await s.exec(select(Event))).all()
            rows = {
                r.recipient_member_id: r
                for r in (
                    await s.exec(select(OutboxRow).where(col(OutboxRow.key).startswith("nudge:")))
                ).all()
            }
        dead = next(r for r in rows.values() if r.state == OutboxState.DEAD)
        waiting = next(r for r in rows.values() if r.state == OutboxState.PENDING)

        page = section((await web.get("/dashboard")).text)
        assert "Tea &lt;&amp; code&gt;" in page and "<& code>" not in page
        assert "2026-03-05 18:00" in page and "every week" in page
        assert "reminders 1 hour before; follow-up 1 day after" in page
        assert f'href="/events/{event.token}.ics"' in page
        tally = re.findall(r'state-(\w+)">\w+</span> (\d+)', page)
        assert ("sent", "1") in tally and ("pending", "1") in tally and ("dead", "1") in tally
        pending = row(page, waiting.id)
        assert "Bob" in pending and "2026-03-02 12:00" in pending
        assert "Bring a friend: [link]" in pending and "secret.example" not in page
        failed = row(page, dead.id)
        assert "502 bad gateway" in failed and "Ada" in failed and "Retry" in failed

        form = {"outbox": str(dead.id)}
        refused = await web.post("/dashboard/events/retry", data=form)
        assert (refused.status_code, refused.text) == (403, "Forbidden")
        async with h.bot.db.reader() as s:
            assert (await s.get(OutboxRow, dead.id)).state == OutboxState.DEAD  # type: ignore[union-attr]
            assert not (
                await s.exec(select(AuditEntry).where(AuditEntry.action == "nudge.retry"))
            ).all()

        csrf = csrf_of((await web.get("/dashboard")).text)
        done = await web.post("/dashboard/events/retry", data={**form, "csrf": csrf})
        assert (done.status_code, done.headers["location"]) == (303, "/dashboard#events")
        async with h.bot.db.reader() as s:
            again = await s.get(OutboxRow, dead.id)
            [entry] = (
                await s.exec(select(AuditEntry).where(AuditEntry.action == "nudge.retry"))
            ).all()
        assert again is not None
        assert (again.state, again.attempts, again.next_attempt_at) == (
            OutboxState.PENDING,
            0,
            h.clock.now(),
        )
        assert entry.detail == {"outbox_id": dead.id, "via": "dashboard"}
        await h.settle()
        assert h.adapter.direct_texts("ada")[-1] == "Bring a friend: https://secret.example/x"

        twice = await web.post("/dashboard/events/retry", data={**form, "csrf": csrf})
        assert twice.status_code == 400 and "no failed message" in twice.text
        page = section((await web.get("/dashboard")).text)
        assert "No failed deliveries." in page


async def test_an_empty_events_section_says_how_to_start(database_url: str) -> None:
    async with Harness.open(database_url, config={"web": {"public_url": "http://t/"}}) as h:
        async with signed_in(h) as web:
            page = section((await web.get("/dashboard")).text)
        assert "No events coming up" in page and "No nudges have been queued yet." in page
        assert "No failed deliveries." in page
