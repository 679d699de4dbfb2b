"""The web chat API on a running bot: answers, bad input, privacy, live streaming."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import websockets
from sqlmodel import select

from adapters.webchat.store import WebMessage
from bot.app import Running, running
from bot.config import parse_config
from tests.webchat_client import ChatClient


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[Running]:
    config = parse_config(
        {"community": {"organisers": ["web:ada"]}, "storage": {"data_dir": str(tmp_path)}},
        {},
        tmp_path,
    )
    async with running(config, port=0) as run:
        yield run


def from_bot(m: dict[str, object]) -> bool:
    return m["user"] == "community-bot"


async def test_help_is_answered_in_the_direct_conversation(chat: ChatClient) -> None:
    await chat.post("main", "ada", "/help")
    reply = await chat.wait_for("@ada", "ada", from_bot)
    assert "role <catalyst|organiser|member> <user>" in str(reply["text"])


async def test_messages_come_back_in_order_with_the_bots(chat: ChatClient) -> None:
    first = await chat.post("@bob", "bob", "!help")
    await chat.wait_for("@bob", "bob", from_bot)
    second = await chat.post("@bob", "bob", "hello there")
    found = await chat.messages("@bob", "bob")
    ids = [int(str(m["id"])) for m in found]
    assert ids == sorted(ids)
    assert [m["text"] for m in found if m["user"] == "bob"] == ["!help", "hello there"]
    after = await chat.messages("@bob", "bob", after=first)
    assert str(after[-1]["id"]) == second


async def test_threads_are_kept(chat: ChatClient) -> None:
    root = await chat.post("main", "bob", "a question")
    await chat.post("main", "carol", "an answer", thread=root)
    found = await chat.messages("main", "carol")
    assert found[-1]["thread"] == root


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        (b"{not json", 400, "malformed JSON"),
        (b"[1, 2]", 400, "JSON object"),
        (json.dumps({"room": "main", "text": "hi"}).encode(), 400, "'user'"),
        (json.dumps({"room": "", "user": "bob", "text": "hi"}).encode(), 400, "'room'"),
        (json.dumps({"room": "main", "user": "bob", "text": 5}).encode(), 400, "'text'"),
        (
            json.dumps({"room": "main", "user": "bob", "text": "x", "thread": "abc"}).encode(),
            400,
            "'thread'",
        ),
        (json.dumps({"room": "main", "user": "community-bot", "text": "x"}).encode(), 403, "bot's"),
        (json.dumps({"room": "main", "user": "bob", "text": "x" * 70_000}).encode(), 413, "larger"),
        (
            json.dumps({"room": "@alice", "user": "bob", "text": "hi"}).encode(),
            403,
            "someone else's",
        ),
    ],
)
async def test_bad_input_is_refused_before_the_core(
    chat: ChatClient, bot: Running, body: bytes, status: int, reason: str
) -> None:
    r = await chat.http.post(
        "/api/chat/messages", content=body, headers={"content-type": "application/json"}
    )
    assert r.status_code == status
    assert reason in r.json()["error"]
    assert await chat.messages("main", "bob") == []


async def test_odd_unicode_and_huge_text_are_stored_faithfully(chat: ChatClient) -> None:
    texts = ["שלום עולם", "🙂🙃" * 50, "@everyone @channel @room <b>hi</b>", "x" * 60_000]
    for t in texts:
        await chat.post("main", "bob", t)
    assert [m["text"] for m in await chat.messages("main", "bob")] == texts


async def test_a_malformed_command_gets_a_reply_not_a_crash(chat: ChatClient) -> None:
    await chat.post("main", "bob", '/me tz "unclosed')
    reply = await chat.wait_for("@bob", "bob", from_bot)
    assert "has no closing mark" in str(reply["text"])
    await chat.post("main", "bob", "/help")
    await chat.wait_for("@bob", "bob", lambda m: "What you can do" in str(m["text"]))


async def test_the_websocket_streams_new_messages(chat: ChatClient, bot: Running) -> None:
    assert bot.web is not None
    url = f"ws://127.0.0.1:{bot.web.port}/api/chat/ws?room=%40bob&user=bob"
    async with websockets.connect(url) as ws:
        await chat.post("@bob", "bob", "/help")
        async with asyncio.timeout(10):
            seen = []
            while len(seen) < 2:
                event = json.loads(await ws.recv())
                seen.append(event["message"]["user"])
    assert seen == ["bob", "community-bot"]


async def test_the_websocket_refuses_someone_elses_room(bot: Running) -> None:
    assert bot.web is not None
    url = f"ws://127.0.0.1:{bot.web.port}/api/chat/ws?room=%40alice&user=bob"
    with pytest.raises(websockets.exceptions.InvalidStatus):
        async with websockets.connect(url):
            pass


async def test_health(chat: ChatClient) -> None:
    r = await chat.http.get("/healthz")
    assert r.json() == {"ok": True}


async def test_token_mode_needs_the_right_token(tmp_path: Path) -> None:
    config = parse_config(
        {
            "storage": {"data_dir": str(tmp_path)},
            "web": {"auth": "token", "users": [{"name": "ada", "token_env": "ADA_TOKEN"}]},
        },
        {"ADA_TOKEN": "t-ada"},
        tmp_path,
    )
    async with running(config, port=0) as run:
        assert run.web is not None
        client = ChatClient(f"http://127.0.0.1:{run.web.port}")
        body = {"room": "main", "text": "hi"}
        none = await client.http.post("/api/chat/messages", json=body)
        wrong = await client.http.post(
            "/api/chat/messages",
            json={**body, "user": "bob"},
            headers={"authorization": "Bearer t-ada"},
        )
        good = await client.http.post(
            "/api/chat/messages", json=body, headers={"authorization": "Bearer t-ada"}
        )
        other_forms = [
            await client.http.post("/api/chat/messages", json=body, headers={"authorization": a})
            for a in ("t-ada", "Token t-ada", "Basic t-ada", "Bearer", "Bearert-ada")
        ]
        any_case = await client.http.post(
            "/api/chat/messages", json=body, headers={"authorization": "bearer t-ada"}
        )
        await client.close()
    assert (none.status_code, wrong.status_code, good.status_code) == (401, 403, 201)
    assert [r.status_code for r in other_forms] == [401] * 5
    assert any_case.status_code == 201  # the scheme is case-insensitive in HTTP


async def test_a_room_the_bot_opens_is_private_to_its_group_at_once(
    bot: Running, chat: ChatClient
) -> None:
    from adapters.contract import (
        OpenSubSpace,
        Place,
        PlatformName,
        SpaceId,
        SubSpaceOpened,
        UserId,
    )

    await chat.post("main", "bob", "before any room is opened")
    opened = await bot.bot.adapters[PlatformName("web")].perform(
        OpenSubSpace(
            key="breakout:1:g1",
            parent=Place(PlatformName("web"), SpaceId("main")),
            name="Group 1",
            members=(UserId("alice"),),
        )
    )
    assert isinstance(opened, SubSpaceOpened)
    room = opened.place.space
    r = await chat.http.post("/api/chat/messages", json={"room": room, "user": "bob", "text": "x"})
    assert r.status_code == 403
    await chat.post(room, "alice", "in my group")


async def test_a_buttons_form_text_reaches_the_bot_and_is_never_stored(
    chat: ChatClient, bot: Running
) -> None:
    await chat.post("main", "ada", '/checkin open "How was it?" --anonymous')
    post = await chat.wait_for("main", "ada", lambda m: str(m["text"]).startswith("Check-in:"))
    answer, skip = post["buttons"]
    assert answer["form"] == {"title": "Check-in", "label": "Your answer", "max": 3000}
    assert "form" not in skip
    press = {"room": "main", "user": "bob", "message": post["id"]}
    for body, reason in [
        ({**answer}, "needs some 'text'"),
        ({**answer, "text": "  "}, "needs some 'text'"),
        ({**answer, "text": "x" * 3001}, "longer than 3000"),
        ({**skip, "text": "a pass with words"}, "takes no text"),
    ]:
        r = await chat.http.post("/api/chat/buttons", json={**press, **body})
        assert r.status_code == 400 and reason in r.json()["error"], r.text
    r = await chat.http.post(
        "/api/chat/buttons", json={**press, **answer, "text": "Hard, honestly"}
    )
    assert r.status_code == 200
    ack = await chat.wait_for("@bob", "bob", lambda m: "Thanks, noted" in str(m["text"]))
    assert "without your name" in str(ack["text"])
    async with bot.bot.db.reader() as s:
        stored = (await s.exec(select(WebMessage.text))).all()
    assert not [t for t in stored if "Hard, honestly" in t]


HUGE = "9" * 25
"""An id past the database's 64-bit integers (it was an OverflowError: a 500)."""


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[" * 30_000 + b"]" * 30_000, "nested"),
        (b'{"room": "main", "user": "bob", "text": ' + b"[" * 5000 + b"]" * 5000 + b"}", "nested"),
        (b'{"room": "main", "user": "bob", "text": "half \\ud800"}', "surrogate"),
        (b'{"room": "main", "user": "bob\\udc00", "text": "hi"}', "surrogate"),
        (b'{"room": "ma\\ud83din", "user": "bob", "text": "hi"}', "surrogate"),
        (b'{"room": "main", "user": "bob", "text": "x", "thread": "' + b"9" * 40 + b'"}', "thread"),
        (
            b'{"room": "main", "user": "bob", "text": "x", "thread": "' + HUGE.encode() + b'"}',
            "thread",
        ),
        ('{"room": "main", "user": "bob", "text": "x", "thread": "²"}'.encode(), "thread"),
        (b'{"room": "main", "user": "bob", "text": "x", "thread": 5}', "thread"),
    ],
)
async def test_bad_bodies_are_400_and_store_nothing(
    chat: ChatClient, body: bytes, reason: str
) -> None:
    r = await chat.http.post(
        "/api/chat/messages", content=body, headers={"content-type": "application/json"}
    )
    assert r.status_code == 400, r.text
    assert reason in r.json()["error"]
    assert await chat.messages("main", "bob") == []


@pytest.mark.parametrize("after", [HUGE, "²", "٣", "-1", "1.5", "0x10"])
async def test_a_bad_after_is_400(chat: ChatClient, after: str) -> None:
    r = await chat.http.get(
        "/api/chat/messages", params={"room": "main", "user": "bob", "after": after}
    )
    assert r.status_code == 400 and "'after'" in r.json()["error"]


@pytest.mark.parametrize("path", ["/api/chat/buttons", "/api/chat/reactions"])
@pytest.mark.parametrize("message", [HUGE, "²", "0", 7])
async def test_a_bad_message_id_is_400(chat: ChatClient, path: str, message: object) -> None:
    body = {"room": "main", "user": "bob", "message": message, "key": "👍", "action": "a"}
    r = await chat.http.post(path, json=body)
    assert r.status_code == 400 and "'message'" in r.json()["error"]


@pytest.mark.parametrize("after", [HUGE, "²"])
async def test_the_websocket_refuses_a_bad_after_at_the_handshake(bot: Running, after: str) -> None:
    assert bot.web is not None
    url = f"ws://127.0.0.1:{bot.web.port}/api/chat/ws?room=main&user=bob&after={after}"
    with pytest.raises(websockets.exceptions.InvalidStatus):
        async with websockets.connect(url):
            pass


@pytest.mark.parametrize(
    "user",
    [
        "Community-Bot",
        "COMMUNITY BOT",
        "community\u200bbot",
        "community-\u2060bot",
        "ｃｏｍｍｕｎｉｔｙ－ｂｏｔ",
        "𝐜𝐨𝐦𝐦𝐮𝐧𝐢𝐭𝐲-bot",
        "community_bot\u00ad",
    ],
)
async def test_names_that_look_like_the_bots_are_refused(chat: ChatClient, user: str) -> None:
    r = await chat.http.post("/api/chat/messages", json={"room": "main", "user": user, "text": "x"})
    assert r.status_code == 403 and "bot's" in r.json()["error"]
    assert await chat.messages("main", "bob") == []


async def test_a_name_merely_containing_the_bots_is_allowed(chat: ChatClient) -> None:
    await chat.post("main", "community-bot-fan", "hello")
    assert [m["user"] for m in await chat.messages("main", "bob")] == ["community-bot-fan"]


async def test_the_browsers_language_is_the_members_until_they_choose(chat: ChatClient) -> None:
    swahili = {"Accept-Language": "fr-FR, sw-KE;q=0.9, en;q=0.5"}
    body = {"room": "@bea", "user": "bea", "text": "/me lang"}
    r = await chat.http.post("/api/chat/messages", json=body, headers=swahili)
    assert r.status_code == 201, r.text
    reply = await chat.wait_for("@bea", "bea", from_bot)
    assert str(reply["text"]).startswith("Ninakuandikia kwa Kiswahili."), reply["text"]
    body["text"] = "/me lang en"
    r = await chat.http.post("/api/chat/messages", json=body, headers=swahili)
    chosen = await chat.wait_for("@bea", "bea", lambda m: from_bot(m) and "now" in m["text"])
    assert chosen["text"] == "From now on I write to you in English."


async def test_a_secret_is_shown_to_a_reader_who_comes_the_moment_it_is_stored(
    bot: Running, chat: ChatClient
) -> None:
    """A reader polling while the bot's message commits sees its one-time link, never the
    stored stand-in; an edit that takes the link out shows the edit, not the old link."""
    from adapters.contract import (
        Direct,
        EditMessage,
        PlatformName,
        Secret,
        SendMessage,
        Sent,
        UserId,
    )
    from adapters.webchat.adapter import WebChat

    web = bot.bot.adapters[PlatformName("web")]
    assert isinstance(web, WebChat)
    store = web._writer.store
    read_at_commit: list[str] = []

    async def store_then_read(values: dict[str, object]) -> int:
        stored = await store(values)  # committed: a reader may come before `_store` resumes
        read_at_commit.extend(str(m["text"]) for m in await web._since("@ada", 0))
        return stored

    web._writer.store = store_then_read  # type: ignore[method-assign]
    to = Direct(PlatformName("web"), UserId("ada"))
    sent = await web.perform(
        SendMessage(key="link:1", to=to, text=("Here: ", Secret("https://x/t0k3n", "(gone)")))
    )
    assert read_at_commit == ["Here: https://x/t0k3n"]
    assert [m["text"] for m in await chat.messages("@ada", "ada")] == ["Here: https://x/t0k3n"]
    assert isinstance(sent, Sent)
    await web.perform(
        EditMessage(key="link:1:edit", place=sent.place, message_id=sent.message_id, text=("Used",))
    )
    assert [m["text"] for m in await chat.messages("@ada", "ada")] == ["Used"]
