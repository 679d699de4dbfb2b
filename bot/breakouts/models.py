"""A breakout's tables: the breakout, its groups and who was in which.

They are the record a breakout leaves: the groups feed the next split's pair history, and the
provocation, members and report-back of each group are kept for export.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from adapters.contract import MessageId, Place, PlatformName, SpaceId, ThreadId
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
    thread: str | None = Field(default=None, max_length=255)
    """On a forum (`Capability.TOPICS`), the topic in that space the breakout was started in."""
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
        thread = ThreadId(self.thread) if self.thread else None
        return Place(PlatformName(self.platform), SpaceId(self.space), thread)

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


class BreakoutSpace(SQLModel, table=True):
    """A further space a breakout gathers people in (`--in`), on any platform: its groups'
    rooms on that platform open there and its reports are collated there too."""

    __tablename__ = "breakout_space"
    __table_args__ = (UniqueConstraint("breakout_id", "platform"),)
    id: int | None = Field(default=None, primary_key=True)
    breakout_id: int = Field(foreign_key="breakout.id", index=True)
    platform: str = Field(max_length=32)
    space: str = Field(max_length=255, index=True)
    thread: str | None = Field(default=None, max_length=255)
    """On a forum (`Capability.TOPICS`), the topic the call opened: what follows goes there."""
    call_message_id: str | None = Field(default=None, max_length=255)

    @property
    def main(self) -> Place:
        thread = ThreadId(self.thread) if self.thread else None
        return Place(PlatformName(self.platform), SpaceId(self.space), thread)


class BreakoutGroup(SQLModel, table=True):
    __tablename__ = "breakout_group"
    __table_args__ = (UniqueConstraint("breakout_id", "number"),)
    id: int | None = Field(default=None, primary_key=True)
    breakout_id: int = Field(foreign_key="breakout.id", index=True)
    number: int
    report: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    reported_by: int | None = Field(default=None, foreign_key="member.id")
    reported_at: datetime | None = utc_column(nullable=True)


class BreakoutRoom(SQLModel, table=True):
    """Where a group talks on one platform; a group of people on several platforms has one
    room on each, and the bot relays what is said in one to the others."""

    __tablename__ = "breakout_room"
    __table_args__ = (UniqueConstraint("group_id", "platform"),)
    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="breakout_group.id", index=True)
    platform: str = Field(max_length=32)
    kind: str = Field(max_length=16)
    space: str | None = Field(default=None, max_length=255)
    thread: str | None = Field(default=None, max_length=255)
    """Where the group talks, once the platform has made it (unset for relays)."""

    @property
    def place(self) -> Place | None:
        if self.space is None:
            return None
        return Place(
            PlatformName(self.platform),
            SpaceId(self.space),
            ThreadId(self.thread) if self.thread else None,
        )


class RelayedCopy(SQLModel, table=True):
    """One copy of a member's message the bot relayed to another room of their group.

    `key` is the copy's outbox key, made of the inbound event's id and the destination, so a
    re-delivered event (or one handled again after a restart) finds its copies made and makes
    none; the copy's own message id, once sent, is what an edit of the original edits.
    """

    __tablename__ = "breakout_relayed"
    __table_args__ = (Index("ix_breakout_relayed_source", "source_platform", "source_message"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=255, unique=True)
    room_id: int = Field(foreign_key="breakout_room.id", index=True)
    source_platform: str = Field(max_length=32)
    source_message: str = Field(max_length=255)
    waiting: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    """The copy's text while its room is still being opened; sent (and emptied) once it is."""
    platform: str = Field(max_length=32)
    space: str | None = Field(default=None, max_length=255)
    thread: str | None = Field(default=None, max_length=255)
    direct: bool = False
    message_id: str | None = Field(default=None, max_length=255)
    """Where the copy was posted, once the platform said: what an edit of the original edits."""

    @property
    def sent(self) -> tuple[Place, MessageId] | None:
        if self.space is None or self.message_id is None:
            return None
        thread = ThreadId(self.thread) if self.thread else None
        place = Place(PlatformName(self.platform), SpaceId(self.space), thread, self.direct)
        return place, MessageId(self.message_id)


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
