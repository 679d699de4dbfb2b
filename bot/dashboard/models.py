"""The dashboard's tables: the one-time links that open a session, and the sessions."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from bot.models import utc_column


class DashboardLink(SQLModel, table=True):
    """A sign-in link sent to an organiser; only the token's hash is kept, so a database
    leak opens no dashboard. A link works once, until `expires_at`."""

    __tablename__ = "dashboard_link"
    token_hash: str = Field(primary_key=True, max_length=64)
    member_id: int = Field(foreign_key="member.id", index=True)
    expires_at: datetime = utc_column()
    used: bool = False


class DashboardSession(SQLModel, table=True):
    """A signed-in organiser's session. The cookie holds its token, this table only the
    token's hash, so a copy of the database opens no dashboard. Signing out and losing the
    organiser role delete it; it ends after `auth.SESSION_IDLE` unused or `auth.SESSION_TTL`
    after signing in, whichever comes first."""

    __tablename__ = "dashboard_session"
    token_hash: str = Field(primary_key=True, max_length=64)
    member_id: int = Field(foreign_key="member.id", index=True)
    created_at: datetime = utc_column()
    seen_at: datetime = utc_column()
