"""Who may see the dashboard: one-time links, signed session cookies, CSRF tokens.

An organiser asks the bot for a link (`me dashboard`); redeeming it once, within 15 minutes,
sets a session cookie signed with a secret the bot generates once and keeps in the database.
The cookie holds no secret of its own, only who and until when, so every request re-checks that
the member is still an organiser. The CSRF token of a form is derived from the cookie.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.context import insert_ignore
from bot.dashboard.models import DashboardLink
from bot.db import Database
from bot.models import AdapterState

LINK_TTL = timedelta(minutes=15)
SESSION_TTL = timedelta(hours=8)
COOKIE = "cb_dashboard"
SECRET_PLACE = ("dashboard", "session-secret")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


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


async def load_secret(db: Database) -> bytes:
    """The cookie-signing secret: generated on first use, then always the same one."""
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
    """Signs and checks session cookies and derives their CSRF tokens."""

    secret: bytes

    def _mac(self, purpose: str, payload: str) -> str:
        digest = hmac.new(self.secret, f"{purpose}:{payload}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def cookie(self, member_id: int, now: datetime) -> str:
        expires = int((now + SESSION_TTL).timestamp())
        payload = f"{member_id}.{expires}.{secrets.token_urlsafe(12)}"
        return f"{payload}.{self._mac('session', payload)}"

    def member_of(self, cookie: str | None, now: datetime) -> int | None:
        """The member a genuine, unexpired cookie names; None for anything else."""
        if not cookie:
            return None
        payload, _, mac = cookie.rpartition(".")
        if not hmac.compare_digest(mac.encode(), self._mac("session", payload).encode()):
            return None
        member, expires, _nonce = payload.split(".", 2)
        if int(expires) <= now.timestamp():
            return None
        return int(member)

    def csrf(self, cookie: str) -> str:
        return self._mac("csrf", cookie)

    def csrf_ok(self, cookie: str, given: object) -> bool:
        return isinstance(given, str) and hmac.compare_digest(
            given.encode(), self.csrf(cookie).encode()
        )
