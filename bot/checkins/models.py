"""The check-in tables: rounds, who was asked, answers, recurring series, export links.

An anonymous round stores its answers without a member; double answers are caught with
`voter_hash`, a keyed hash of the member id whose key (`CheckinRound.hmac_key`) is set to NULL
when the round closes, together with every `voter_hash` of the round.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.models import utc_column


class RoundState(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class CheckinSeries(SQLModel, table=True):
    """A recurring round: each occurrence of `rrule` (read in `tz`) opens a round in the space."""

    __tablename__ = "checkin_series"
    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    platform: str = Field(max_length=32)
    space: str = Field(max_length=255)
    prompt: str = Field(sa_column=Column(Text, nullable=False))
    prompt_id: str | None = Field(default=None, max_length=64)
    anonymous: bool = False
    dm: bool = False
    close_after_s: int | None = None
    """Each occurrence closes this many seconds after it opens (from `--until`)."""
    remind_after_s: int | None = None
    rrule: str = Field(max_length=500)
    tz: str = Field(max_length=64)
    dtstart: datetime = utc_column()
    active: bool = True
    created_by_member_id: int | None = Field(default=None, foreign_key="member.id")
    created_at: datetime = utc_column()


class CheckinRound(SQLModel, table=True):
    """One round in one space; `thread`/`message_id` come back from the platform after posting."""

    __tablename__ = "checkin_round"
    __table_args__ = (Index("ix_checkin_round_place", "platform", "space", "state"),)
    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    series_id: int | None = Field(default=None, foreign_key="checkin_series.id")
    platform: str = Field(max_length=32)
    space: str = Field(max_length=255)
    thread: str | None = Field(default=None, max_length=255)
    message_id: str | None = Field(default=None, max_length=255)
    prompt: str = Field(sa_column=Column(Text, nullable=False))
    prompt_id: str | None = Field(default=None, max_length=64)
    anonymous: bool = False
    dm: bool = False
    state: str = Field(default=RoundState.OPEN, max_length=16)
    hmac_key: str | None = Field(default=None, max_length=64)
    """Hex key of the anonymous voter hash; NULL once closed, so answers cannot be linked."""
    opened_by_member_id: int | None = Field(default=None, foreign_key="member.id")
    opened_at: datetime = utc_column()
    deadline: datetime | None = utc_column(nullable=True)
    remind_at: datetime | None = utc_column(nullable=True)
    closed_at: datetime | None = utc_column(nullable=True)
    platform_tally: dict[str, dict[str, int]] | None = Field(
        default=None, sa_column=Column(JSON, nullable=True)
    )
    """An anonymous round's answers and passes per platform, kept when it closes: its
    answers then lose the platform they were given on, so none is tied to one."""


class CheckinSpace(SQLModel, table=True):
    """A further space a round is open in (`--in`), on any platform: one round, one deadline,
    one answer per member wherever they give it, the summary posted in every space."""

    __tablename__ = "checkin_space"
    __table_args__ = (Index("ix_checkin_space_place", "platform", "space"),)
    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="checkin_round.id", index=True)
    platform: str = Field(max_length=32)
    space: str = Field(max_length=255)
    thread: str | None = Field(default=None, max_length=255)
    message_id: str | None = Field(default=None, max_length=255)


class CheckinAsked(SQLModel, table=True):
    """A member the bot asked directly (by `--dm` or a reminder): their DMs answer the round."""

    __tablename__ = "checkin_asked"
    round_id: int = Field(foreign_key="checkin_round.id", primary_key=True)
    member_id: int = Field(foreign_key="member.id", primary_key=True, index=True)


class CheckinAnswer(SQLModel, table=True):
    """One member's answer (or pass) to one round; answering again replaces it.

    Attributed rounds set `member_id` and `answered_at`; anonymous rounds set neither, only
    `voter_hash` until the round closes.
    """

    __tablename__ = "checkin_answer"
    __table_args__ = (
        UniqueConstraint("round_id", "member_id"),
        UniqueConstraint("round_id", "voter_hash"),
    )
    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="checkin_round.id", index=True)
    member_id: int | None = Field(default=None, foreign_key="member.id")
    voter_hash: str | None = Field(default=None, max_length=64)
    text: str = Field(sa_column=Column(Text, nullable=False))
    passed: bool = False
    platform: str | None = Field(default=None, max_length=32)
    """Where it was given (a linked member may answer anywhere); None once an anonymous
    round closed."""
    answered_at: datetime | None = utc_column(nullable=True)


class CheckinExport(SQLModel, table=True):
    """A download link for one round's export; only the token's SHA-256 is kept."""

    __tablename__ = "checkin_export"
    token_hash: str = Field(primary_key=True, max_length=64)
    round_id: int = Field(foreign_key="checkin_round.id", index=True)
    format: str = Field(max_length=8)
    expires_at: datetime = utc_column()
