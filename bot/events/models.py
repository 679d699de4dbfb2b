"""The events ritual's tables: events (one row per series) and ad-hoc nudges.

An event row holds its rule, not its occurrences: a weekly event for ten years is one row
and, at any moment, a handful of timers (see `bot.events.plan`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.models import utc_column


class Event(SQLModel, table=True):
    """One event or series, from `source` ("command", "import", or a platform's native
    events), where `uid` is its id: the iCalendar UID, so a re-import updates the row, or
    the platform's own event id.

    `calendar` is an imported series as its calendar wrote it (VTIMEZONEs, the master and
    its RECURRENCE-ID overrides): it, not `rrule`, says when the series happens. `exdates`
    (occurrences the bot cancelled) and `overrides` (occurrences it moved or retitled:
    original key -> {"start": key, "title": ..., "seconds": duration}) apply on top, keyed by
    `occurrences.occurrence_key`. `remind` holds the reminder offsets in seconds before each
    occurrence; `token` names the public .ics download.

    `announced` is a digest of what the community's spaces were last told of an imported
    event, and `announcements` how many times they were told (`bot.events.announce`).
    """

    __table_args__ = (UniqueConstraint("community_id", "uid"),)
    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    uid: str = Field(max_length=255)
    token: str = Field(unique=True, max_length=64)
    title: str = Field(max_length=200)
    description: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    starts_at: datetime = utc_column()
    timezone: str = Field(max_length=64)
    duration_seconds: int = 3600
    link: str | None = Field(default=None, max_length=500)
    rrule: str | None = Field(default=None, max_length=500)
    exdates: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    calendar: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    floating_tz: str | None = Field(default=None, max_length=64)
    """The zone `calendar`'s floating times and dates are read in (the community's)."""
    overrides: dict[str, dict[str, str]] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False, server_default="{}")
    )
    remind: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    followup_seconds: int | None = None
    followup_text: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    followup_platform: str | None = Field(default=None, max_length=32)
    followup_space: str | None = Field(default=None, max_length=255)
    """Where the follow-up opens a check-in round with its question (`--followup-checkin`);
    unset, the follow-up is a direct message."""
    cancelled: bool = False
    source: str = Field(default="command", max_length=16)
    announced: str | None = Field(default=None, max_length=64)
    announcements: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    created_by: int | None = Field(default=None, foreign_key="member.id")
    created_at: datetime = utc_column()


class Nudge(SQLModel, table=True):
    """An ad-hoc nudge: a text for an audience (`members` or a role) at a time."""

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    text: str = Field(sa_column=Column(Text, nullable=False))
    audience: str = Field(max_length=32)
    due_at: datetime = utc_column()
    created_by: int | None = Field(default=None, foreign_key="member.id")
    created_at: datetime = utc_column()
