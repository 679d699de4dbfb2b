"""Dashboard sessions live on the server: signing out and losing the organiser role end them
for every copy of the cookie, and they end after 30 minutes unused or 8 hours at most."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
from sqlmodel import select

from bot.dashboard.auth import COOKIE
from bot.dashboard.models import DashboardSession
from bot.dashboard.pages import routes
from bot.testing import Harness
from bot.tokens import token_hash
from bot.web import build_app
from tests.test_dashboard import csrf_of

LINK = re.compile(r"http://t/dashboard/login\?token=(\S+)")
CONFIG = {"web": {"public_url": "http://t/"}}


@asynccontextmanager
async def client(h: Harness) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(build_app(routes(h.bot)))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        yield c


async def sign_in(h: Harness, web: httpx.AsyncClient, user: str = "ada") -> str:
    """Follows a fresh dashboard link as `user`; the session cookie."""
    await h.say(user, "me dashboard")
    found = LINK.search(h.adapter.direct_texts(user)[-1])
    assert found
    assert (await web.get(found.group(0))).status_code == 200
    assert (await web.post("/dashboard/login", data={"token": found.group(1)})).status_code == 303
    return web.cookies[COOKIE]


async def status_with(h: Harness, cookie: str) -> int:
    """What another browser holding a copy of the cookie gets."""
    async with client(h) as other:
        other.cookies.set(COOKIE, cookie, path="/dashboard")
        return (await other.get("/dashboard")).status_code


async def sessions(h: Harness) -> list[DashboardSession]:
    async with h.bot.db.reader() as s:
        return list((await s.exec(select(DashboardSession))).all())


async def test_signing_out_ends_the_session_for_every_copy_of_the_cookie(
    database_url: str,
) -> None:
    async with Harness.open(database_url, config=CONFIG) as h, client(h) as web:
        cookie = await sign_in(h, web)
        [row] = await sessions(h)
        assert row.token_hash == token_hash(cookie) != cookie  # a database copy opens nothing
        assert await status_with(h, cookie) == 200
        csrf = csrf_of((await web.get("/dashboard")).text)
        assert (await web.post("/dashboard/logout", data={"csrf": csrf})).status_code == 200
        assert await status_with(h, cookie) == 403
        assert await sessions(h) == []


async def test_a_session_ends_after_30_minutes_unused(database_url: str) -> None:
    async with Harness.open(database_url, config=CONFIG) as h, client(h) as web:
        cookie = await sign_in(h, web)
        for _ in range(3):  # each use restarts the idle time
            await h.advance(timedelta(minutes=29))
            assert await status_with(h, cookie) == 200
        await h.advance(timedelta(minutes=30, seconds=1))
        assert await status_with(h, cookie) == 403


async def test_a_session_in_use_ends_8_hours_after_signing_in(database_url: str) -> None:
    async with Harness.open(database_url, config=CONFIG) as h, client(h) as web:
        cookie = await sign_in(h, web)
        for _ in range(8 * 3 - 1):
            await h.advance(timedelta(minutes=20))
            assert await status_with(h, cookie) == 200
        await h.advance(timedelta(minutes=20))
        assert await status_with(h, cookie) == 403


async def test_losing_the_organiser_role_ends_the_members_sessions(database_url: str) -> None:
    async with Harness.open(database_url, config=CONFIG) as h, client(h) as web:
        await h.say("bob", "hello")
        await h.say("ada", "role organiser bob")
        ada = await sign_in(h, web)
        async with client(h) as bobs:
            bob = await sign_in(h, bobs, "bob")
        assert await status_with(h, bob) == 200
        await h.say("ada", "role member bob")
        await h.say("ada", "role organiser bob")  # the role back does not revive the session
        assert await status_with(h, bob) == 403
        assert await status_with(h, ada) == 200
        assert len(await sessions(h)) == 1
