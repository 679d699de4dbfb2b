"""The shared receiving path for signed webhooks: cap, signature, de-duplication, fast ack."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.responses import JSONResponse, Response

from adapters.webhook import RecentIds, SignedWebhook, hmac_sha256_ok
from bot.web import BadRequest

SECRET = b"s3cret-value"


def sign(body: bytes) -> str:
    return "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()


class Receiver:
    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.gate: asyncio.Event | None = None
        self.fail: Exception | None = None
        self.handled = asyncio.Event()

    async def __call__(self, headers: Headers, body: bytes) -> Response | None:
        if self.gate is not None:
            await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        self.bodies.append(body)
        self.handled.set()
        return JSONResponse({"got": len(self.bodies)}) if headers.get("x-answer") else None


def verify(headers: Headers, body: bytes) -> str | None:
    return None if hmac_sha256_ok(SECRET, body, headers.get("x-sig")) else "bad signature"


def delivery(headers: Headers, body: bytes) -> str | None:
    return headers.get("x-delivery")


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
def hook(receiver: Receiver) -> SignedWebhook:
    return SignedWebhook(
        "test",
        verify=verify,
        receive=receiver,
        delivery_id=delivery,
        max_body=1000,
        ack_within=0.5,
    )


@pytest.fixture
async def client(hook: SignedWebhook) -> AsyncIterator[httpx.AsyncClient]:
    app = Starlette(routes=[hook.route("/hook")])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bot") as c:
        yield c


async def post(client: httpx.AsyncClient, body: bytes, **headers: str) -> httpx.Response:
    return await client.post("/hook", content=body, headers=headers)


async def test_a_signed_delivery_reaches_the_receiver(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    body = json.dumps({"hello": "world"}).encode()
    r = await post(client, body, **{"x-sig": sign(body), "x-answer": "1"})
    assert r.status_code == 200 and r.json() == {"got": 1}
    assert receiver.bodies == [body]


@pytest.mark.parametrize("signature", [None, b"", b"sha256=00", b"sha1=abc", "sha256=é".encode()])
async def test_a_missing_or_wrong_signature_is_401_and_reaches_nothing(
    client: httpx.AsyncClient,
    receiver: Receiver,
    signature: str | None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = b'{"a": 1}'
    headers = {} if signature is None else {"x-sig": signature}
    with caplog.at_level(logging.WARNING):
        r = await client.post("/hook", content=body, headers=headers)
    assert r.status_code == 401
    assert receiver.bodies == []
    assert SECRET.decode() not in caplog.text


async def test_a_signature_for_another_body_is_refused(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    r = await post(client, b'{"a": 2}', **{"x-sig": sign(b'{"a": 1}')})
    assert r.status_code == 401 and receiver.bodies == []


async def test_a_declared_oversized_body_is_413_before_verification(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    body = b"x" * 1001
    r = await post(client, body, **{"x-sig": sign(body)})
    assert r.status_code == 413 and receiver.bodies == []


async def test_a_streamed_oversized_body_without_length_is_413(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    body = b"x" * 1001

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(body), 100):
            yield body[i : i + 100]

    r = await client.post("/hook", content=chunks(), headers={"x-sig": sign(body)})
    assert "content-length" not in r.request.headers
    assert r.status_code == 413 and receiver.bodies == []


async def test_a_redelivery_is_acknowledged_and_dropped(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    body = b'{"event": 1}'
    headers = {"x-sig": sign(body), "x-delivery": "ev-1"}
    first = await post(client, body, **headers)
    again = await post(client, body, **headers)
    other = await post(client, body, **{**headers, "x-delivery": "ev-2"})
    assert [first.status_code, again.status_code, other.status_code] == [200, 200, 200]
    assert receiver.bodies == [body, body]


async def test_slow_handling_is_acknowledged_in_time_and_finishes_after(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    receiver.gate = asyncio.Event()
    body = b'{"slow": true}'
    r = await post(client, body, **{"x-sig": sign(body)})
    assert r.status_code == 200 and receiver.bodies == []
    receiver.gate.set()
    async with asyncio.timeout(5):
        await receiver.handled.wait()
    assert receiver.bodies == [body]


async def test_a_body_the_receiver_refuses_gets_its_status(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    receiver.fail = BadRequest(400, "not an event")
    body = b"[]"
    r = await post(client, body, **{"x-sig": sign(body)})
    assert r.status_code == 400 and r.json() == {"error": "not an event"}


async def test_a_failure_is_never_a_500_and_the_retry_is_tried_again(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    receiver.fail = RuntimeError("a bug")
    body = b'{"event": 3}'
    headers = {"x-sig": sign(body), "x-delivery": "ev-3"}
    assert (await post(client, body, **headers)).status_code == 400
    receiver.fail = None
    assert (await post(client, body, **headers)).status_code == 200
    assert receiver.bodies == [body]


def test_recent_ids_forget_the_oldest_first() -> None:
    recent = RecentIds(size=2)
    for d in ("a", "b", "c"):
        recent.add(d)
    assert "a" not in recent and "b" in recent and "c" in recent


def test_hmac_check_takes_only_the_exact_signature() -> None:
    body = b"payload"
    good = sign(body)
    assert hmac_sha256_ok(SECRET, body, good)
    assert not hmac_sha256_ok(SECRET, body, good.upper())
    assert not hmac_sha256_ok(SECRET, body, good[7:])
    assert not hmac_sha256_ok(SECRET, body, good + "0")
    assert not hmac_sha256_ok(b"other", body, good)
    assert hmac_sha256_ok(SECRET, body, "v0=" + good[7:], prefix="v0=")
