"""The foundation's tables: communities, their spaces and members, roles, audit, delivery.

Ritual tables live with their ritual (`bot/checkins/models.py` and so on); every table module is
imported by `bot.schema` so migrations see the whole schema.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime, time
from typing import Any, NamedTuple

from sqlalchemy import JSON, Column, DateTime, Dialect, Index, Text, UniqueConstraint
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from bot.i18n import N_


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every backend.

    SQLite drops the offset of a stored datetime; storing UTC and re-attaching it on the way
    out keeps comparisons with `clock.now()` correct everywhere.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; pass an aware one")
        utc = value.astimezone(UTC)
        return utc if dialect.name == "postgresql" else utc.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_column(*, nullable: bool = False, index: bool = False) -> Any:
    """A timestamp column that always holds and returns aware UTC datetimes."""
    return Field(sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class Role(enum.IntEnum):
    """Roles are ordered: each can do what the ones below it can."""

    MEMBER = 1
    CATALYST = 2
    ORGANISER = 3

    @classmethod
    def parse(cls, name: str) -> Role:
        return cls[name.strip().upper()]

    @property
    def label(self) -> str:
        return self.name.lower()


ROLE_NAMES = {
    Role.MEMBER: N_("a member"),
    Role.CATALYST: N_("a catalyst"),
    Role.ORGANISER: N_("an organiser"),
}
"""A role as a message names a person holding it ("You are {role}."): catalog messages."""


class Community(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(unique=True, max_length=64)
    name: str = Field(max_length=200)
    timezone: str = Field(max_length=64)


class Space(SQLModel, table=True):
    """A place on one platform that belongs to a community (a channel, a room, a web room).

    A private conversation with the bot gets no row: one would say that its member wrote to
    the bot, and when (an anonymous round's answer, perhaps).
    """

    __table_args__ = (UniqueConstraint("platform", "external_id"),)
    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    platform: str = Field(max_length=32)
    external_id: str = Field(max_length=255)
    direct: bool = False


class Member(SQLModel, table=True):
    """One person, whatever platforms they use; their preferences govern every nudge."""

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    display_name: str = Field(max_length=200)
    role: int = Field(default=Role.MEMBER)
    timezone: str | None = Field(default=None, max_length=64)
    quiet_start: time | None = None
    quiet_end: time | None = None
    paused: bool = False
    reach: str | None = Field(default=None, max_length=32)
    """The platform where this member wants DMs, reminders and nudges (`me reach`)."""
    language: str | None = Field(default=None, max_length=8)
    """The language this member chose (`me lang`); it wins over what a platform says."""
    platform_language: str | None = Field(default=None, max_length=8)
    """The shipped language a platform last said this member uses (see `Actor.locale`)."""
    created_at: datetime = utc_column()


class Identity(SQLModel, table=True):
    """A member's account on one platform; `platform:external_id` is how configs name people.

    `left_at` is set when the platform reports that the account left (or was removed from)
    the community's spaces: a member with no account left in the community is not asked,
    nudged or listed, and is refused politely if they write to the bot in private.
    """

    __table_args__ = (UniqueConstraint("platform", "external_id"),)
    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    platform: str = Field(max_length=32)
    external_id: str = Field(max_length=255)
    display_name: str = Field(max_length=200)
    left_at: datetime | None = utc_column(nullable=True)


class LinkCode(SQLModel, table=True):
    """A one-time code from `me link`; only its hash is kept, and it works once, until
    `expires_at`, to join another platform's account to `member_id`."""

    __tablename__ = "link_code"
    code_hash: str = Field(primary_key=True, max_length=64)
    member_id: int = Field(foreign_key="member.id", index=True)
    expires_at: datetime = utc_column()


class DataLink(SQLModel, table=True):
    """A link to a member's own data (`me data`); only the token's hash is kept, and the
    file is made when the link is opened, once, until `expires_at`."""

    __tablename__ = "data_link"
    token_hash: str = Field(primary_key=True, max_length=64)
    member_id: int = Field(foreign_key="member.id", index=True)
    expires_at: datetime = utc_column()


class LinkGuard(SQLModel, table=True):
    """Wrong link codes a member has tried; too many lock their linking for a while."""

    __tablename__ = "link_guard"
    member_id: int = Field(foreign_key="member.id", primary_key=True)
    failures: int = 0
    locked_until: datetime | None = utc_column(nullable=True)


class AuditEntry(SQLModel, table=True):
    """What an organiser changed, by whom and when."""

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    actor_member_id: int | None = Field(default=None, foreign_key="member.id")
    action: str = Field(max_length=64)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    at: datetime = utc_column()


class SeenEvent(SQLModel, table=True):
    """Inbound events already handled, so a platform's re-delivery is handled once."""

    platform: str = Field(primary_key=True, max_length=32)
    event_id: str = Field(primary_key=True, max_length=255)
    seen_at: datetime = utc_column(index=True)


class AdapterState(SQLModel, table=True):
    """Small values an adapter must keep across restarts (a sync token, a DM room per user)."""

    platform: str = Field(primary_key=True, max_length=32)
    key: str = Field(primary_key=True, max_length=255)
    value: str = Field(sa_column=Column(Text, nullable=False))


class OutboxState(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DEAD = "dead"
    SKIPPED = "skipped"


class OutboxRow(SQLModel, table=True):
    """One outbound action, kept until the platform has it: the delivery outbox.

    `key` is unique, so enqueueing the same action twice is harmless. A row with a
    `recipient_member_id` is a nudge: it waits out the member's quiet hours and is dropped while
    they pause. `not_after` drops a reminder once its event has started; `grace_until` drops a
    nudge that the bot, being down, could only send too late.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "state", "platform", "next_attempt_at"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=255)
    platform: str = Field(max_length=32)
    action: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    state: str = Field(default=OutboxState.PENDING, max_length=16)
    recipient_member_id: int | None = Field(default=None, foreign_key="member.id")
    attempts: int = 0
    next_attempt_at: datetime = utc_column()
    not_after: datetime | None = utc_column(nullable=True)
    grace_until: datetime | None = utc_column(nullable=True)
    on_result: str | None = Field(default=None, max_length=255)
    """`hook:ref` called with the platform's answer (a ritual remembers its thread this way)."""
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = utc_column()
    sent_at: datetime | None = utc_column(nullable=True)
    claimed_by: str | None = Field(default=None, max_length=128)
    """The process (`Bot.process_id`) sending it while `sending`: when that process is gone,
    the row goes back to `pending` (`bot.cluster`), and only then."""


class Claimed(NamedTuple):
    """An outbox row claimed for sending, with what the workers need of it: building the ORM
    object (which validates) for a reply cost more than sending the reply."""

    id: int
    action: dict[str, Any]
    attempts: int
    on_result: str | None

    @classmethod
    def of(cls, row: OutboxRow) -> Claimed:
        assert row.id is not None
        return cls(row.id, row.action, row.attempts, row.on_result)


class TimerState(enum.StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class Timer(SQLModel, table=True):
    """Work due at a time (a round's deadline, a breakout's half-time warning).

    `key` is unique and deterministic, so scheduling the same thing twice is harmless; the
    handler's effects and the timer's completion commit together, so it fires exactly once.
    """

    __table_args__ = (Index("ix_timer_due", "state", "due_at"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=255)
    kind: str = Field(max_length=64)
    ref: str = Field(max_length=255)
    due_at: datetime = utc_column()
    state: str = Field(default=TimerState.PENDING, max_length=16)
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class Lease(SQLModel, table=True):
    """Who leads a role (`scheduler`, `receive:<platform>`) or is alive (`process:<id>`),
    until when: a holder renews well before `expires_at`; past it, anyone may take over."""

    name: str = Field(primary_key=True, max_length=128)
    holder: str = Field(max_length=128)
    expires_at: datetime = utc_column()
