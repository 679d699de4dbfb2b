"""Who may see the dashboard: one-time links, server-side sessions, CSRF tokens.

An organiser asks the bot for a link (`me dashboard`); redeeming it once, within 15 minutes,
opens a session: the cookie holds a random token, the database only its hash. A session ends
when its organiser signs out or loses the role (its row is deleted), after 30 minutes unused,
and 8 hours after signing in at the latest; every request also re-checks that the member is
still an organiser. The CSRF token of a form is derived from the cookie with a secret the bot
generates once and keeps in the database.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.context import insert_ignore
from bot.dashboard.models import DashboardLink, DashboardSession
from bot.db import Database
from bot.models import AdapterState
from bot.tokens import token_hash

LINK_TTL = timedelta(minutes=15)
SESSION_TTL = timedelta(hours=8)
"""The longest a session lasts, used or not."""
SESSION_IDLE = timedelta(minutes=30)
"""A session unused this long has ended."""
COOKIE = "cb_dashboard"
SECRET_PLACE = ("dashboard", "session-secret")


async def issue_link(session: AsyncSession, member_id: int, now: datetime) -> str:
    """A fresh one-time token for `member_id`; expired links are dropped on the way."""
    await session.exec(delete(DashboardLink).where(col(DashboardLink.expires_at) <= now))
    token = secrets.token_urlsafe(32)
    session.add(
        DashboardLink(token_hash=token_hash(token), member_id=member_id, expires_at=now + LINK_TTL)
    )
    return token


async def link_owner(session: AsyncSession, token: str, now: datetime) -> int | None:
    """The member a still-usable link belongs to, without using it up."""
    row = await session.get(DashboardLink, token_hash(token))
    if row is None or row.used or row.expires_at <= now:
        return None
    return row.member_id


async def redeem_link(session: AsyncSession, token: str, now: datetime) -> int | None:
    """Use the link up and return its member, or None; one statement, so it works once even
    when two requests race."""
    result = await session.exec(
        update(DashboardLink)
        .where(
            col(DashboardLink.token_hash) == token_hash(token),
            col(DashboardLink.used).is_(False),
            col(DashboardLink.expires_at) > now,
        )
        .values(used=True)
        .returning(col(DashboardLink.member_id))
    )
    member_id: int | None = result.scalar_one_or_none()
    return member_id


async def open_session(session: AsyncSession, member_id: int, now: datetime) -> str:
    """A new session's token for the cookie; sessions that have ended are dropped on the way."""
    await session.exec(
        delete(DashboardSession).where(
            or_(
                col(DashboardSession.created_at) <= now - SESSION_TTL,
                col(DashboardSession.seen_at) <= now - SESSION_IDLE,
            )
        )
    )
    token = secrets.token_urlsafe(32)
    session.add(
        DashboardSession(
            token_hash=token_hash(token), member_id=member_id, created_at=now, seen_at=now
        )
    )
    return token


async def use_session(session: AsyncSession, token: str, now: datetime) -> int | None:
    """The member of a live session, which is marked used now; None if it has ended (signed
    out, revoked, idle too long, too old) or never was. One statement, so a session that
    ends meanwhile cannot be used."""
    if not token:
        return None
    result = await session.exec(
        update(DashboardSession)
        .where(
            col(DashboardSession.token_hash) == token_hash(token),
            col(DashboardSession.created_at) > now - SESSION_TTL,
            col(DashboardSession.seen_at) > now - SESSION_IDLE,
        )
        .values(seen_at=now)
        .returning(col(DashboardSession.member_id))
    )
    member_id: int | None = result.scalar_one_or_none()
    return member_id


async def close_session(session: AsyncSession, token: str) -> None:
    await session.exec(
        delete(DashboardSession).where(col(DashboardSession.token_hash) == token_hash(token))
    )


async def close_sessions_of(session: AsyncSession, member_id: int) -> None:
    """Ends every session of the member (who is no longer an organiser)."""
    await session.exec(delete(DashboardSession).where(col(DashboardSession.member_id) == member_id))


async def load_secret(db: Database) -> bytes:
    """The CSRF secret: generated on first use, then always the same one."""
    platform, key = SECRET_PLACE
    async with db.session() as s:
        await insert_ignore(
            s, AdapterState, platform=platform, key=key, value=secrets.token_hex(32)
        )
        value = (
            await s.exec(
                select(AdapterState.value).where(
                    AdapterState.platform == platform, AdapterState.key == key
                )
            )
        ).one()
    return bytes.fromhex(value)


@dataclass(frozen=True)
class Signer:
    """Derives and checks the CSRF tokens of a session's forms."""

    secret: bytes

    def _mac(self, purpose: str, payload: str) -> str:
        digest = hmac.new(self.secret, f"{purpose}:{payload}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def csrf(self, cookie: str) -> str:
        return self._mac("csrf", cookie)

    def csrf_ok(self, cookie: str, given: object) -> bool:
        return isinstance(given, str) and hmac.compare_digest(
            given.encode(), self.csrf(cookie).encode()
        )
