"""The organiser dashboard over HTTP on a running bot: links, sessions, CSRF, the sections."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlmodel import col, select

from adapters.contract import Capability, plain_text
from adapters.webchat.store import WebMessage
from bot.app import Running, running
from bot.checkins import export as export_module
from bot.config import parse_config
from bot.dashboard.auth import COOKIE, issue_link, load_secret, open_session
from bot.dashboard.models import DashboardLink
from bot.dashboard.router import STORED
from bot.models import AuditEntry, Identity, Member, OutboxRow, Role
from bot.testing import Harness
from tests.webchat_client import ChatClient

LINK = re.compile(r"(http://\S+/dashboard/login\?token=(\S+))")


@pytest.fixture
async def bot(database_url: str, tmp_path: Path) -> AsyncIterator[Running]:
    config = parse_config(
        {
            "community": {"name": "Tea & Code", "organisers": ["web:ada"]},
            "storage": {"url_env": "DB", "data_dir": str(tmp_path)},
        },
        {"DB": database_url},
        tmp_path,
    )
    async with running(config, port=0) as run:
        yield run


async def dashboard_link(chat: ChatClient, user: str = "ada") -> str:
    seen = len(await chat.messages(f"@{user}", user))
    await chat.post(f"@{user}", user, "/me dashboard")
    reply = await chat.wait_for(
        f"@{user}",
        user,
        lambda m: m["user"] == "community-bot" and "dashboard" in m["text"],
        after=str(seen),
    )
    found = LINK.search(str(reply["text"]))
    assert found, reply["text"]
    return found.group(1)


async def sign_in(chat: ChatClient, link: str) -> httpx.Response:
    """What a browser does: open the link's page, then press its button."""
    page = await chat.http.get(link)
    assert page.status_code == 200, page.text
    token = link.rsplit("=", 1)[1]
    return await chat.http.post("/dashboard/login", data={"token": token})


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found
    return found.group(1)


async def member_id(bot: Running, user: str) -> int:
    async with bot.bot.db.reader() as s:
        ident = (await s.exec(select(Identity).where(Identity.external_id == user))).one()
    return ident.member_id


async def test_an_organiser_signs_in_once_and_sees_members_and_audit(
    bot: Running, chat: ChatClient
) -> None:
    await chat.post("main", "bob", "hello")
    link = await dashboard_link(chat)
    signed = await sign_in(chat, link)
    assert signed.status_code == 303
    assert signed.headers["location"] == "/dashboard"
    cookie = signed.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/dashboard" in cookie
    page = await chat.http.get("/dashboard")
    assert page.status_code == 200
    assert "Tea &amp; Code — dashboard" in page.text
    assert 'id="members"' in page.text and "web:bob" in page.text and "web:ada" in page.text
    assert 'id="audit"' in page.text
    chart = re.search(r'<svg[^>]*aria-label="People per platform, by role".*?</svg>', page.text)
    assert chart and 'data-value="1"' in chart.group(0)  # one member, one organiser on web
    again = await httpx.AsyncClient(base_url=str(chat.http.base_url)).post(
        "/dashboard/login", data={"token": link.rsplit("=", 1)[1]}
    )
    assert (again.status_code, again.text) == (403, "Forbidden")
    assert (await chat.http.get(link)).status_code == 403


async def test_a_member_is_refused_a_link_naming_the_role(chat: ChatClient) -> None:
    await chat.post("@bob", "bob", "/me dashboard")
    reply = await chat.wait_for("@bob", "bob", lambda m: m["user"] == "community-bot")
    assert "needs the organiser role" in str(reply["text"])
    assert "token=" not in str(reply["text"])


async def test_only_the_tokens_hash_is_kept_and_nothing_secret_is_logged(
    bot: Running, chat: ChatClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # what the bot runs at; DEBUG has drivers echo SQL
    link = await dashboard_link(chat)
    token = link.rsplit("=", 1)[1]
    await sign_in(chat, link)
    cookie = chat.http.cookies[COOKIE]
    secret = (await load_secret(bot.bot.db)).hex()
    logged = "\n".join(
        r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))
    )  # (the test's own HTTP client logs the URLs it fetches; the bot must not)
    assert caplog.records and not [s for s in (token, cookie, secret) if s in logged]
    async with bot.bot.db.reader() as s:
        [row] = (await s.exec(select(DashboardLink))).all()
    assert row.token_hash != token and len(row.token_hash) == 64
    left = row.expires_at - bot.bot.clock.now()
    assert timedelta(minutes=14) < left <= timedelta(minutes=15)


@pytest.mark.parametrize("case", ["none", "garbage", "tampered", "member"])
async def test_anything_but_a_live_organiser_session_gets_a_bare_403(
    bot: Running, chat: ChatClient, case: str
) -> None:
    await chat.post("main", "bob", "hello")
    async with bot.bot.db.session() as s:
        member = await open_session(s, await member_id(bot, "bob"), bot.bot.clock.now())
    cookies = {
        "none": None,
        "garbage": "1.99999999999.x.abc",
        "tampered": member[:-1] + ("A" if member[-1] != "A" else "B"),
        "member": member,
    }
    client = httpx.AsyncClient(base_url=str(chat.http.base_url))
    if cookies[case]:
        client.cookies.set(COOKIE, cookies[case], path="/dashboard")
    r = await client.get("/dashboard")
    await client.aclose()
    assert (r.status_code, r.text) == (403, "Forbidden")


async def test_an_expired_link_is_refused(bot: Running, chat: ChatClient) -> None:
    await chat.post("main", "ada", "hello")
    ada = await member_id(bot, "ada")
    async with bot.bot.db.session() as s:
        token = await issue_link(s, ada, bot.bot.clock.now() - timedelta(minutes=16))
    assert (await chat.http.get(f"/dashboard/login?token={token}")).status_code == 403
    r = await chat.http.post("/dashboard/login", data={"token": token})
    assert (r.status_code, r.text) == (403, "Forbidden")


async def test_a_role_change_needs_the_csrf_token_and_is_audited(
    bot: Running, chat: ChatClient
) -> None:
    await chat.post("main", "bob", "hello")
    await sign_in(chat, await dashboard_link(chat))
    csrf = csrf_of((await chat.http.get("/dashboard")).text)
    bob = await member_id(bot, "bob")
    form = {"member": str(bob), "role": "catalyst"}
    no_token = await chat.http.post("/dashboard/members/role", data=form)
    wrong = await chat.http.post("/dashboard/members/role", data={**form, "csrf": csrf + "x"})
    assert (no_token.status_code, wrong.status_code) == (403, 403)
    async with bot.bot.db.reader() as s:
        assert (await s.get(Member, bob)).role == Role.MEMBER  # type: ignore[union-attr]
    done = await chat.http.post("/dashboard/members/role", data={**form, "csrf": csrf})
    assert (done.status_code, done.headers["location"]) == (303, "/dashboard#members")
    async with bot.bot.db.reader() as s:
        assert (await s.get(Member, bob)).role == Role.CATALYST  # type: ignore[union-attr]
        [entry] = (await s.exec(select(AuditEntry))).all()
    assert entry.detail == {
        "member_id": bob,
        "before": "member",
        "after": "catalyst",
        "via": "dashboard",
    }
    page = (await chat.http.get("/dashboard")).text
    assert "role.change" in page and "member: Bob" not in page and "member: bob" in page


async def test_the_last_organiser_cannot_step_down_and_is_told_why(
    bot: Running, chat: ChatClient
) -> None:
    await sign_in(chat, await dashboard_link(chat))
    csrf = csrf_of((await chat.http.get("/dashboard")).text)
    ada = await member_id(bot, "ada")
    r = await chat.http.post(
        "/dashboard/members/role", data={"member": str(ada), "role": "member", "csrf": csrf}
    )
    assert r.status_code == 400
    assert "only organiser" in r.text
    bad = await chat.http.post(
        "/dashboard/members/role", data={"member": "999", "role": "member", "csrf": csrf}
    )
    assert bad.status_code == 400 and "not in this community" in bad.text


async def test_a_demoted_organisers_session_stops_working(bot: Running, chat: ChatClient) -> None:
    await chat.post("main", "bob", "hello")
    await chat.post("main", "ada", "/role organiser bob")
    await chat.wait_for("main", "ada", lambda m: "now an organiser" in str(m["text"]))
    bob_chat = ChatClient(str(chat.http.base_url))
    await sign_in(bob_chat, await dashboard_link(bob_chat, "bob"))
    assert (await bob_chat.http.get("/dashboard")).status_code == 200
    await chat.post("main", "ada", "/role member bob")
    await chat.wait_for("main", "ada", lambda m: "now a member" in str(m["text"]))
    r = await bob_chat.http.get("/dashboard")
    await bob_chat.close()
    assert (r.status_code, r.text) == (403, "Forbidden")


async def test_signing_out_needs_the_csrf_token_and_clears_the_cookie(
    chat: ChatClient,
) -> None:
    await sign_in(chat, await dashboard_link(chat))
    csrf = csrf_of((await chat.http.get("/dashboard")).text)
    assert (await chat.http.post("/dashboard/logout", data={})).status_code == 403
    out = await chat.http.post("/dashboard/logout", data={"csrf": csrf})
    assert out.status_code == 200
    assert (await chat.http.get("/dashboard")).status_code == 403


async def test_old_links_are_dropped_when_a_new_one_is_made(bot: Running, chat: ChatClient) -> None:
    await chat.post("main", "ada", "hello")
    ada = await member_id(bot, "ada")
    async with bot.bot.db.session() as s:
        await issue_link(s, ada, bot.bot.clock.now() - timedelta(hours=1))
    await dashboard_link(chat)
    async with bot.bot.db.reader() as s:
        rows = (
            await s.exec(select(DashboardLink).where(col(DashboardLink.member_id) == ada))
        ).all()
    assert len(rows) == 1


async def test_the_link_goes_only_by_direct_message(database_url: str) -> None:
    web = {"web": {"public_url": "https://bot.example.org/"}}
    async with Harness.open(database_url, config=web) as h:
        await h.say("ada", "me dashboard", space="general")
        [text] = h.adapter.direct_texts("ada")
        assert "https://bot.example.org/dashboard/login?token=" in text
    without_dms = set(Capability) - {Capability.DIRECT_MESSAGES}
    async with Harness.open(database_url, config=web, capabilities=without_dms) as h:
        [reply] = await h.say("ada", "me dashboard", space="general")
        assert "only in a direct message" in reply and "token=" not in reply


@pytest.mark.parametrize("raw", ["9" * 25, "²", "٣", "-1", ""])
async def test_ids_the_database_cannot_hold_are_refused_not_500(chat: ChatClient, raw: str) -> None:
    await sign_in(chat, await dashboard_link(chat))
    csrf = csrf_of((await chat.http.get("/dashboard")).text)
    role = await chat.http.post(
        "/dashboard/members/role", data={"member": raw, "role": "member", "csrf": csrf}
    )
    assert role.status_code == 400 and "not in this community" in role.text
    retry = await chat.http.post("/dashboard/events/retry", data={"outbox": raw, "csrf": csrf})
    assert retry.status_code == 400 and "failed delivery by its number" in retry.text
    export = await chat.http.get("/dashboard/checkins/csv", params={"round": raw})
    assert export.status_code == 404 and "no such check-in round" in export.text


async def test_a_copy_of_the_database_hands_out_no_working_link(
    bot: Running, chat: ChatClient, database_url: str, tmp_path: Path
) -> None:
    """The dashboard, export and data links reach the member, but neither the web chat's store nor
    the outbox keeps them (only their stored form): on SQLite, not one byte of the data
    directory holds a token, taken while the bot runs."""
    link = await dashboard_link(chat)
    await chat.post("main", "ada", '/checkin open "How was it?"')
    await chat.wait_for("main", "ada", lambda m: "How was it?" in str(m["text"]))
    await chat.post("main", "ada", "/checkin export csv")
    export = await chat.wait_for("@ada", "ada", lambda m: "as CSV" in str(m["text"]))
    found = re.search(r"/checkins/export/(\S+)", str(export["text"]))
    assert found, export["text"]
    await chat.post("@ada", "ada", "/me data")
    data = await chat.wait_for("@ada", "ada", lambda m: "/me/data/" in str(m["text"]))
    data_token = re.search(r"/me/data/(\S+)", str(data["text"]))
    assert data_token, data["text"]
    tokens = [link.rsplit("=", 1)[1], found.group(1), data_token.group(1)]
    assert (await chat.http.get(f"/checkins/export/{tokens[1]}")).status_code == 200
    async with bot.bot.db.reader() as s:
        kept = [str(a) for a in (await s.exec(select(OutboxRow.action))).all()]
        kept += (await s.exec(select(WebMessage.text))).all()
    assert [t for t in tokens if any(t in k for k in kept)] == []
    assert any(STORED in k for k in kept) and any(export_module.STORED in k for k in kept)
    if database_url.startswith("sqlite"):
        holding = await asyncio.to_thread(files_holding, tmp_path, tokens)
        assert {"bot.db", "bot.db-wal"} <= set(holding) and not any(holding.values())


def files_holding(directory: Path, secrets: list[str]) -> dict[str, bool]:
    """Whether each database file of the directory holds any of the secrets' bytes."""
    return {
        p.name: any(s.encode() in p.read_bytes() for s in secrets)
        for p in directory.rglob("bot.db*")
        if p.is_file()
    }


async def test_a_link_queued_when_the_bot_restarted_is_not_sent_stale(
    bot: Running, chat: ChatClient
) -> None:
    """The outbox keeps a link's secret only in memory: a send decoded after a restart
    (memory gone) says to ask again rather than sending anything that could work."""
    from adapters import codec

    link = await dashboard_link(chat)
    async with bot.bot.db.reader() as s:
        [row] = [
            r for r in (await s.exec(select(OutboxRow))).all() if r.key.startswith("dashboard:")
        ]
    codec._sealed.clear()
    action = codec.decode_action(dict(row.action))
    assert link not in plain_text(action.text)  # type: ignore[attr-defined]
    assert codec.LOST in plain_text(action.text)  # type: ignore[attr-defined]


async def test_an_organiser_links_two_accounts_of_one_person(
    bot: Running, chat: ChatClient
) -> None:
    await chat.post("main", "bob", "hello")
    await chat.post("main", "robert", "hello again")
    await sign_in(chat, await dashboard_link(chat))
    page = (await chat.http.get("/dashboard")).text
    assert 'action="/dashboard/members/link"' in page
    form = {"first": "web:bob", "second": "web:robert", "csrf": csrf_of(page)}
    unknown = await chat.http.post("/dashboard/members/link", data={**form, "second": "web:x"})
    assert unknown.status_code == 400 and "platform:id" in unknown.text
    done = await chat.http.post("/dashboard/members/link", data=form)
    assert done.status_code == 303
    assert await member_id(bot, "bob") == await member_id(bot, "robert")
    again = await chat.http.post("/dashboard/members/link", data=form)
    assert again.status_code == 400 and "one member already" in again.text
    async with bot.bot.db.reader() as s:
        [entry] = (await s.exec(select(AuditEntry).where(AuditEntry.action == "member.link"))).all()
    assert entry.detail["via"] == "dashboard"
