"""The one JSON body reader (`bot.web`): each size check on its own, and every malformed body a
400, never a 500; a client leaving mid-body is one quiet line."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.web import MAX_DEPTH, BadRequest, WebServer, build_app, parse_json, read_body

LIMIT = 1000


async def echo(request: Request) -> Response:
    try:
        data = parse_json(await read_body(request, LIMIT))
    except BadRequest as exc:
        return JSONResponse({"error": exc.reason}, status_code=exc.status)
    return JSONResponse({"got": data})


@pytest.fixture
async def server() -> AsyncIterator[WebServer]:
    web = WebServer(build_app([Route("/echo", echo, methods=["POST"])]), "127.0.0.1", 0)
    await web.start()
    yield web
    await web.stop()


async def exchange(web: WebServer, request: bytes) -> bytes:
    """Sends raw bytes and reads the response's head, failing after 5 s without one."""
    reader, writer = await asyncio.open_connection("127.0.0.1", web.port)
    try:
        writer.write(request)
        await writer.drain()
        async with asyncio.timeout(5):
            return await reader.readuntil(b"\r\n\r\n")
    finally:
        writer.close()


HEAD = b"POST /echo HTTP/1.1\r\nHost: bot\r\nContent-Type: application/json\r\n"


async def test_a_declared_length_over_the_limit_is_413_before_any_body_arrives(
    server: WebServer,
) -> None:
    """Only the Content-Length check can answer: the body is never sent, so a reader that
    waited for it would time out."""
    head = await exchange(server, HEAD + f"Content-Length: {LIMIT + 1}\r\n\r\n".encode())
    assert head.startswith(b"HTTP/1.1 413"), head


async def test_a_streamed_body_without_length_is_413_once_past_the_limit(
    server: WebServer,
) -> None:
    """Only the streaming check can answer: there is no Content-Length to read."""
    chunk = b'"' + b"x" * 98 + b'"'
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(15)) + b"0\r\n\r\n"
    head = await exchange(server, HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + body)
    assert head.startswith(b"HTTP/1.1 413"), head


async def test_a_body_within_the_limit_is_read(server: WebServer) -> None:
    body = b'{"a": [1, "\\u00e9"]}'
    head = await exchange(server, HEAD + b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    assert head.startswith(b"HTTP/1.1 200"), head


class Recorder(logging.Handler):
    """Keeps the records of one logger and says when the first arrives."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.seen = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.seen.set()


async def test_a_client_leaving_mid_body_is_one_quiet_line(server: WebServer) -> None:
    ours, uvicorns = Recorder(), Recorder()
    logging.getLogger("bot.web").addHandler(ours)
    logging.getLogger("uvicorn.error").addHandler(uvicorns)
    level = logging.getLogger("bot.web").level
    logging.getLogger("bot.web").setLevel(logging.INFO)
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(HEAD + b'Content-Length: 500\r\n\r\n{"room":')
        await writer.drain()
        writer.close()
        async with asyncio.timeout(5):
            await ours.seen.wait()
    finally:
        logging.getLogger("bot.web").removeHandler(ours)
        logging.getLogger("uvicorn.error").removeHandler(uvicorns)
        logging.getLogger("bot.web").setLevel(level)
    assert [(r.levelno, r.getMessage()[-22:]) for r in ours.records] == [
        (logging.INFO, "left during POST /echo")
    ]
    assert [r for r in uvicorns.records if r.levelno >= logging.WARNING] == []


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested"),
        (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, "nested"),
        (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), "nested deeper"),
        (b'{"text": "\\ud800"}', "surrogate"),
        (b'{"\\udfff": "key"}', "surrogate"),
        (b'["ok", ["\\ud83d"]]', "surrogate"),
        (b'{"text": "\xff\xfe"}', "not UTF-8"),
        ('{"text": "hi"}'.encode("utf-16"), "not UTF-8"),
        (b'{"n": NaN}', "NaN"),
        (b'{"n": -Infinity}', "Infinity"),
        (b'{"n": ' + b"9" * 5000 + b"}", "malformed"),
        (b"{not json", "malformed"),
        (b"", "malformed"),
    ],
)
def test_malformed_bodies_are_400_saying_why(body: bytes, says: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_json(body)
    assert caught.value.status == 400
    assert says in caught.value.reason


def test_a_valid_pair_and_ordinary_nesting_are_kept() -> None:
    body = json.dumps({"text": "🙂 שלום", "deep": [[[[{"a": 1}]]]]}, ensure_ascii=True)
    assert parse_json(body.encode()) == {"text": "🙂 שלום", "deep": [[[[{"a": 1}]]]]}


@given(st.binary(max_size=200))
def test_any_bytes_are_json_or_a_400(body: bytes) -> None:
    try:
        parse_json(body)
    except BadRequest as exc:
        assert exc.status == 400


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(), st.lists, max_leaves=30))
def test_json_we_could_store_survives_reading(value: object) -> None:
    body = json.dumps(value).encode()
    try:
        assert parse_json(body) == value
    except BadRequest as exc:
        assert "surrogate" in exc.reason or "nested" in exc.reason
