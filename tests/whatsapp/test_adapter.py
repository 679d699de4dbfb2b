"""The adapter's I/O against the fake Cloud API: the webhook's guards, the 24-hour window,
templates, held messages, error codes, pacing and delivery receipts."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlmodel import select

from adapters.contract import (
    Button,
    ButtonPressed,
    CommandInvoked,
    Direct,
    Done,
    MessageReceived,
    Purpose,
    SendMessage,
    Sent,
    UserId,
)
from adapters.whatsapp.adapter import RecipientPace
from adapters.whatsapp.translate import PLATFORM
from bot.errors import PlatformError
from bot.receipts import DeliveryReceipt
from tests.whatsapp import payloads
from tests.whatsapp.conftest import APP_SECRET, VERIFY_TOKEN, Wired

pytestmark = pytest.mark.whatsapp

ADA = "447700900001"
BEN = "447700900002"
NUDGE = Purpose("nudge", (("community", "Gardeners"), ("text", "Seeds swap on Sunday")))


def send(to: str, text: str, key: str, **more: object) -> SendMessage:
    return SendMessage(key=key, to=Direct(PLATFORM, UserId(to)), text=(text,), **more)  # type: ignore[arg-type]


async def receipt(w: Wired, key: str, status: str) -> DeliveryReceipt:
    async with asyncio.timeout(10):
        while True:
            async with w.db.reader() as s:
                row = await s.get(DeliveryReceipt, key)
            if row is not None and row.status == status:
                return row
            await w.adapter._flush_receipts()
            await asyncio.sleep(0.05)


async def test_meta_verification_echoes_the_challenge_only_for_our_token(wired: Wired) -> None:
    async with httpx.AsyncClient() as http:
        query = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "42"}
        ok = await http.get(wired.webhook_url, params=query)
        assert (ok.status_code, ok.text) == (200, "42")
        bad = await http.get(wired.webhook_url, params={**query, "hub.verify_token": "guess"})
        assert bad.status_code == 403 and "42" not in bad.text


async def test_forged_unsigned_and_oversized_webhooks_reach_nothing(wired: Wired) -> None:
    payload = payloads.text(ADA, "Ada", "help")
    forged = await wired.graph.post(payload, secret="not-the-app-secret")
    assert forged.status_code == 401
    async with httpx.AsyncClient() as http:
        unsigned = await http.post(wired.webhook_url, json=payload)
        assert unsigned.status_code == 401
        body, headers = payloads.signed(APP_SECRET, payloads.text(ADA, "Ada", "x" * 5000))
        big = await http.post(wired.webhook_url, content=body, headers=headers)
        assert big.status_code == 413
        sig = hmac.new(APP_SECRET.encode(), b"{not json", hashlib.sha256).hexdigest()
        bad = await http.post(
            wired.webhook_url,
            content=b"{not json",
            headers={"X-Hub-Signature-256": f"sha256={sig}"},
        )
        assert bad.status_code == 400
    assert wired.inbound.empty()
    ok = await wired.graph.post(payload)
    assert ok.status_code == 200
    assert isinstance(await wired.next_inbound(), CommandInvoked)


async def test_a_redelivered_message_reaches_the_core_once(wired: Wired) -> None:
    payload = payloads.text(ADA, "Ada", "hello there")
    for _ in range(2):  # the same delivery again
        assert (await wired.graph.post(payload)).status_code == 200
    again = payloads.text(
        ADA,
        "Ada",
        "hello there",
        mid=payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"],
    )
    again["entry"][0]["id"] = "another-entry"  # same message id, another body
    assert (await wired.graph.post(again)).status_code == 200
    await wired.graph.says(ADA, "Ada", "second")
    first, second = await wired.next_inbound(), await wired.next_inbound()
    assert isinstance(first, MessageReceived) and first.text == "hello there"
    assert isinstance(second, MessageReceived) and second.text == "second"
    assert wired.inbound.empty()


async def test_a_stale_message_is_acknowledged_but_not_handled(wired: Wired) -> None:
    old = time.time() - 2 * 86400
    r = await wired.graph.post(payloads.text(ADA, "Ada", "from two days ago", at=old))
    assert r.status_code == 200
    await wired.graph.says(ADA, "Ada", "today")
    event = await wired.next_inbound()
    assert isinstance(event, MessageReceived) and event.text == "today"


async def test_outside_the_window_a_purpose_goes_as_its_template(wired: Wired) -> None:
    result = await wired.adapter.perform(send(ADA, "Seeds swap on Sunday", "n1", purpose=NUDGE))
    assert isinstance(result, Sent)
    (sent,) = wired.graph.to(ADA)
    assert sent.kind == "template" and sent.body["template"]["name"] == "community_nudge"
    assert sent.text == "community_nudge | Gardeners | Seeds swap on Sunday"
    await receipt(wired, "n1", "delivered")

    await wired.graph.says(ADA, "Ada", "thanks!")
    await wired.next_inbound()
    result = await wired.adapter.perform(send(ADA, "Seeds swap moved", "n2", purpose=NUDGE))
    assert isinstance(result, Sent)
    assert wired.graph.to(ADA)[-1].kind == "text", "inside the window: free text"


async def test_free_text_outside_the_window_waits_for_the_members_next_message(
    wired: Wired,
) -> None:
    result = await wired.adapter.perform(send(ADA, "Your export is ready", "r1"))
    assert isinstance(result, Done) and wired.graph.to(ADA) == []
    await receipt(wired, "r1", "held")
    await wired.graph.says(ADA, "Ada", "hi again")
    got = await wired.graph.receives(ADA, "Your export is ready")
    assert got.kind == "text"
    await receipt(wired, "r1", "delivered")
    assert await wired.adapter.memory.with_prefix(f"held:{ADA}:") == {}
    await wired.graph.says(ADA, "Ada", "and again")
    assert sum("export" in a.text for a in wired.graph.to(ADA)) == 1


async def test_what_waited_longer_than_a_week_is_reported_undeliverable(wired: Wired) -> None:
    import json

    from adapters.codec import encode_action
    from adapters.whatsapp.adapter import HELD_FOR

    stale = {
        "at": (datetime.now(UTC) - HELD_FOR - timedelta(hours=1)).isoformat(),
        "action": encode_action(send(ADA, "Last week's answer", "old")),
    }
    await wired.adapter.memory.put(f"held:{ADA}:old", json.dumps(stale))
    assert isinstance(await wired.adapter.perform(send(ADA, "Today's answer", "new")), Done)
    await wired.graph.says(ADA, "Ada", "hi")
    await wired.graph.receives(ADA, "Today's answer")
    row = await receipt(wired, "old", "failed")
    assert row.error is not None and "undeliverable" in row.error
    assert not any("Last week" in a.text for a in wired.graph.to(ADA))
    async with asyncio.timeout(10):  # the sent one is forgotten just after it went
        while True:
            if not await wired.adapter.memory.with_prefix(f"held:{ADA}:"):
                break
            await asyncio.sleep(0.02)


async def test_what_waits_for_a_member_who_never_writes_again_is_swept_after_a_week(
    wired: Wired,
) -> None:
    import json

    from adapters.codec import encode_action
    from adapters.whatsapp.adapter import HELD_FOR

    def held(text: str, key: str, age: timedelta) -> str:
        at = (datetime.now(UTC) - age).isoformat()
        return json.dumps({"at": at, "action": encode_action(send(BEN, text, key))})

    await wired.adapter.memory.put(f"held:{BEN}:old", held("Old news", "old", HELD_FOR * 2))
    await wired.adapter.memory.put(f"held:{BEN}:new", held("Fresh", "new", timedelta(hours=1)))
    assert await wired.adapter.sweep_held() == 1
    assert list(await wired.adapter.memory.with_prefix(f"held:{BEN}:")) == ["new"]
    row = await receipt(wired, "old", "failed")
    assert row.error is not None and "undeliverable" in row.error
    assert wired.graph.to(BEN) == []


async def test_a_131047_takes_the_template_path_once_not_a_retry_loop(wired: Wired) -> None:
    await wired.graph.says(ADA, "Ada", "hello")
    await wired.next_inbound()
    wired.graph.fail_next[ADA].append(131047)  # the window closed after all
    result = await wired.adapter.perform(send(ADA, "Seeds", "n3", purpose=NUDGE))
    assert isinstance(result, Sent)
    assert wired.graph.refused == [(ADA, 131047)]
    assert [a.kind for a in wired.graph.to(ADA)] == ["template"]
    assert not wired.adapter.window_open(ADA)


async def test_a_131047_reported_later_sends_the_template_once(wired: Wired) -> None:
    """The Cloud API may accept free text and fail it afterwards, in a status callback."""
    from adapters.codec import encode_action
    from bot.models import OutboxRow

    await wired.graph.says(ADA, "Ada", "hello")
    await wired.next_inbound()
    action = send(ADA, "Seeds swap on Sunday", "n4", purpose=NUDGE)
    async with wired.db.session() as s:
        s.add(
            OutboxRow(
                key="n4",
                platform="whatsapp",
                action=encode_action(action),
                next_attempt_at=datetime.now(UTC),
                created_at=datetime.now(UTC),
            )
        )
    first = await wired.adapter.perform(action)
    assert isinstance(first, Sent) and wired.graph.to(ADA)[-1].kind == "text"
    await receipt(wired, "n4", "delivered")
    failed = payloads.status(ADA, first.message_id, "failed", code=131047, title="Re-engagement")
    await wired.graph.post(failed)
    template = await wired.graph.until(
        lambda: [a for a in wired.graph.to(ADA) if a.kind == "template"]
    )
    assert len(template) == 1 and template[0].body["template"]["name"] == "community_nudge"
    await receipt(wired, "n4", "delivered")  # the template's own callbacks
    await wired.graph.post(failed)  # the same callback again: nothing more is sent
    await wired.graph.says(ADA, "Ada", "ok")
    await wired.next_inbound()
    assert [a.kind for a in wired.graph.to(ADA)] == ["text", "template"]


async def test_rate_limits_pause_the_number_or_only_the_member(wired: Wired) -> None:
    for who in (ADA, BEN):
        await wired.graph.says(who, who, "hi")
    wired.graph.fail_next[ADA].append(130429)
    with pytest.raises(PlatformError) as throughput:
        await wired.adapter.perform(send(ADA, "one", "t1"))
    assert throughput.value.retry_after and not throughput.value.permanent

    wired.graph.fail_next[ADA].append(131056)
    with pytest.raises(PlatformError) as pair:
        await wired.adapter.perform(send(ADA, "two", "t2"))
    assert pair.value.retry_after is None and not pair.value.permanent, "backoff, not a pause"
    with pytest.raises(PlatformError, match="pacing"):  # ada waits: no request at all
        await wired.adapter.perform(send(ADA, "three", "t3"))
    assert isinstance(await wired.adapter.perform(send(BEN, "ben is fine", "t4")), Sent)
    assert len(wired.graph.refused) == 2


async def test_choices_become_buttons_or_a_list_and_presses_come_back(wired: Wired) -> None:
    await wired.graph.says(ADA, "Ada", "hi")
    await wired.next_inbound()
    two = (Button("checkin.answer", "7", "Answer"), Button("checkin.pass", "7", "Pass"))
    await wired.adapter.perform(send(ADA, "How are you arriving?", "b1", buttons=two))
    asked = await wired.graph.receives(ADA, "arriving")
    assert asked.body["interactive"]["type"] == "button"
    await wired.graph.presses(ADA, "Ada", asked, "Pass")
    pressed = await wired.next_inbound()
    assert isinstance(pressed, ButtonPressed)
    assert (pressed.action, pressed.value, pressed.message_id) == ("checkin.pass", "7", asked.wamid)
    five = tuple(Button("vote", str(i), f"Option {i}") for i in range(5))
    await wired.adapter.perform(send(ADA, "Which one?", "b2", buttons=five))
    listed = await wired.graph.receives(ADA, "Which one?")
    assert listed.body["interactive"]["type"] == "list" and len(listed.choices()) == 5
    await wired.graph.presses(ADA, "Ada", listed, "Option 3")
    picked = await wired.next_inbound()
    assert isinstance(picked, ButtonPressed) and (picked.action, picked.value) == ("vote", "3")


async def test_the_window_is_remembered_across_a_restart(wired: Wired) -> None:
    from tests.whatsapp.conftest import make_adapter

    await wired.graph.says(ADA, "Ada", "hi")
    await wired.next_inbound()
    again = make_adapter(wired.db, wired.graph)
    await again.start(wired.inbound.put)
    try:
        assert again.window_open(ADA) and not again.window_open(BEN)
    finally:
        await again.stop()


async def test_a_failed_status_is_recorded_with_its_error(wired: Wired) -> None:
    await wired.graph.says(ADA, "Ada", "hi")
    result = await wired.adapter.perform(send(ADA, "will fail", "f1"))
    assert isinstance(result, Sent)
    await receipt(wired, "f1", "delivered")
    await wired.graph.post(
        payloads.status(ADA, result.message_id, "failed", code=131026, title="Undeliverable")
    )
    row = await receipt(wired, "f1", "failed")
    assert row.error is not None and "131026" in row.error
    await wired.graph.post(payloads.status(ADA, result.message_id, "sent"))
    async with wired.db.reader() as s:
        rows = (await s.exec(select(DeliveryReceipt))).all()
    assert [r.status for r in rows] == ["failed"], "a late 'sent' does not undo a failure"


def test_the_pace_per_member_allows_a_burst_then_one_per_interval() -> None:
    now = [0.0]
    pace = RecipientPace(6.0, 2, lambda: now[0])
    assert [pace.wait_for("a"), pace.wait_for("a")] == [0.0, 0.0]
    assert pace.wait_for("a") == pytest.approx(6.0)
    assert pace.wait_for("b") == 0.0, "another member is not held up"
    now[0] = 6.0
    assert pace.wait_for("a") == 0.0
    pace.hold("b", 12.0)
    assert pace.wait_for("b") == pytest.approx(12.0)
