"""The dashboard's one table: the one-time links that open a session."""

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
