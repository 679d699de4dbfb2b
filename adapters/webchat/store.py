"""The web chat's own storage: it is a platform whose server is the bot itself."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text
from sqlmodel import Field, SQLModel

from bot.models import utc_column


class WebMessage(SQLModel, table=True):
    __tablename__ = "web_message"
    __table_args__ = (Index("ix_web_message_room_id", "room", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    room: str = Field(max_length=200)
    user: str = Field(max_length=64)
    text: str = Field(sa_column=Column(Text, nullable=False))
    thread: str | None = Field(default=None, max_length=32)
    buttons: list[Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    key: str | None = Field(default=None, max_length=255, unique=True)
    """The outbox key of a bot message, so a retried send is stored once."""
    ts: datetime = utc_column()


class WebRoom(SQLModel, table=True):
    """A room the bot opened (a breakout group); rooms people just use need no row."""

    __tablename__ = "web_room"
    name: str = Field(primary_key=True, max_length=200)
    parent: str | None = Field(default=None, max_length=200)
    title: str = Field(max_length=200)
    private: bool = True
    members: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    closed: bool = False
