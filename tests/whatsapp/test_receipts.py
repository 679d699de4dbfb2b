"""Delivery receipts on the outbox's rows, and in the dashboard's delivery part."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import col, select

from bot.models import OutboxRow
from bot.receipts import DeliveryReceipt, Receipt, record
from bot.testing import Harness
from tests.test_events_dashboard import section, signed_in

pytestmark = pytest.mark.whatsapp


async def test_statuses_move_forward_only_and_show_in_the_dashboard(database_url: str) -> None:
    async with Harness.open(database_url, config={"web": {"public_url": "http://t/"}}) as h:
        async with signed_in(h) as web:
            await h.say("bob", "help")
            await h.say("carol", "help")
            await h.say("ada", 'nudge "Seeds swap on Sunday" --at in 1m')
            await h.advance(timedelta(minutes=2))
            async with h.bot.db.reader() as s:
                rows = (
                    await s.exec(select(OutboxRow).where(col(OutboxRow.key).startswith("nudge:")))
                ).all()
            keys = sorted(r.key for r in rows)
            assert len(keys) == 3
            now = h.clock.now()
            db, platform = h.bot.db, h.adapter.platform
            changed = await record(
                db,
                platform,
                [
                    Receipt("accepted", now, keys[0], message_id="wamid.A"),
                    Receipt("accepted", now, keys[1], message_id="wamid.B"),
                    Receipt("held", now, keys[2]),
                ],
            )
            assert sorted(changed) == keys
            read = Receipt("read", now, message_id="wamid.A")
            assert await record(db, platform, [read]) == [keys[0]]
            late = Receipt("delivered", now, message_id="wamid.A")  # out of order: ignored
            assert await record(db, platform, [late]) == []
            failed = Receipt("failed", now, message_id="wamid.B", error="131026: Undeliverable")
            assert await record(db, platform, [failed]) == [keys[1]]
            unknown = Receipt("read", now, message_id="wamid.someone-elses")
            assert await record(db, platform, [unknown]) == []
            async with db.reader() as s:
                found = {r.outbox_key: r.status for r in (await s.exec(select(DeliveryReceipt)))}
            assert found == {keys[0]: "read", keys[1]: "failed", keys[2]: "held"}

            page = section((await web.get("/dashboard")).text)
        tally = re.findall(r'receipt-(\w+)">\w+</span> (\d+)', page)
        assert tally == [("held", "1"), ("read", "1"), ("failed", "1")]
        assert "131026: Undeliverable" in page and "Seeds swap on Sunday" in page


async def test_no_receipts_yet_says_so(database_url: str) -> None:
    async with Harness.open(database_url, config={"web": {"public_url": "http://t/"}}) as h:
        async with signed_in(h) as web:
            page = section((await web.get("/dashboard")).text)
        assert "No platform has reported on a delivery yet." in page
