"""A breakout's tables: the breakout, its groups and who was in which.

They are the record a breakout leaves: the groups feed the next split's pair history, and the
provocation, members and report-back of each group are kept for export.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from adapters.contract import Place, PlatformName, SpaceId, ThreadId
from bot.models import utc_column


class BreakoutState(enum.StrEnum):
    GATHERING = "gathering"
    """Waiting for people to join (the call's window is open)."""
    RUNNING = "running"
    REPORTING = "reporting"
    """The time box is over; groups may still send their report-back."""
    CLOSED = "closed"


class SubSpaceKind(enum.StrEnum):
    """Where a group talks, the best the platform offers."""

    SUBSPACE = "subspace"
    THREAD = "thread"
    RELAY = "relay"
    """Direct conversations with the bot, each member's messages forwarded to the others."""
    MAIN = "main"
    """Nothing better: the group's messages go to the main space, named by group."""


class Breakout(SQLModel, table=True):
    __table_args__ = (Index("ix_breakout_space_state", "platform", "space", "state"),)
    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    platform: str = Field(max_length=32)
    space: str = Field(max_length=255)
    """The main space, where the call, the summary and the collated reports go."""
    started_by: int | None = Field(default=None, foreign_key="member.id")
    """Empty once the member who started it has asked to be forgotten."""
    provocation_id: str | None = Field(default=None, max_length=64)
    parts: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    groups_wanted: int | None = None
    group_size: int | None = None
    minutes: int
    report_minutes: int
    source: str = Field(max_length=16)
    state: str = Field(default=BreakoutState.GATHERING, max_length=16)
    call_message_id: str | None = Field(default=None, max_length=255)
    created_at: datetime = utc_column()
    split_at: datetime | None = utc_column(nullable=True)
    ends_at: datetime | None = utc_column(nullable=True)
    report_until: datetime | None = utc_column(nullable=True)
    closed_at: datetime | None = utc_column(nullable=True)

    @property
    def main(self) -> Place:
        return Place(PlatformName(self.platform), SpaceId(self.space))

    @property
    def box(self) -> timedelta:
        """The time box: how long the groups talk."""
        return timedelta(minutes=self.minutes)

    @property
    def report_box(self) -> timedelta:
        """The grace period for report-backs after the time box."""
        return timedelta(minutes=self.report_minutes)

    @property
    def provocation(self) -> str:
        return "\n".join(self.parts) if self.parts else "(no provocation: talk freely)"


class BreakoutGroup(SQLModel, table=True):
    __tablename__ = "breakout_group"
    __table_args__ = (UniqueConstraint("breakout_id", "number"),)
    id: int | None = Field(default=None, primary_key=True)
    breakout_id: int = Field(foreign_key="breakout.id", index=True)
    number: int
    kind: str = Field(max_length=16)
    space: str | None = Field(default=None, max_length=255)
    thread: str | None = Field(default=None, max_length=255)
    """Where the group talks, once the platform has made it (unset for relays)."""
    report: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    reported_by: int | None = Field(default=None, foreign_key="member.id")
    reported_at: datetime | None = utc_column(nullable=True)

    def place(self, platform: str) -> Place | None:
        if self.space is None:
            return None
        return Place(
            PlatformName(platform),
            SpaceId(self.space),
            ThreadId(self.thread) if self.thread else None,
        )


class BreakoutMember(SQLModel, table=True):
    """Someone who joined a breakout, and (once split) their group."""

    __tablename__ = "breakout_member"
    __table_args__ = (UniqueConstraint("breakout_id", "member_id"),)
    id: int | None = Field(default=None, primary_key=True)
    breakout_id: int = Field(foreign_key="breakout.id", index=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    identity_id: int = Field(foreign_key="identity.id")
    """The account they joined from: where their group's messages reach them."""
    group_id: int | None = Field(default=None, foreign_key="breakout_group.id", index=True)
    joined_at: datetime = utc_column()
