"""Delivery receipts: what a platform later said about a message the outbox sent.

The outbox records that a platform accepted an action; some platforms (WhatsApp) report
afterwards whether it was delivered, read, or failed after all. A receipt is keyed by the
outbox row's key, so the dashboard shows it beside the row; statuses only move forward
(callbacks arrive out of order), except that a failure is always kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel, col, select

from bot.db import Database
from bot.models import OutboxRow, utc_column

RANK = {"held": 0, "accepted": 1, "sent": 2, "delivered": 3, "read": 4, "failed": 5}
"""`held`: waiting for the member to open a window; `accepted`: the API took it."""


class DeliveryReceipt(SQLModel, table=True):
    __tablename__ = "delivery_receipt"
    __table_args__ = (UniqueConstraint("platform", "message_id"),)
    outbox_key: str = Field(primary_key=True, max_length=255)
    platform: str = Field(max_length=32)
    message_id: str | None = Field(default=None, max_length=255)
    status: str = Field(max_length=16)
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    updated_at: datetime = utc_column()


@dataclass(frozen=True)
class Receipt:
    """One fact to record: by the outbox key when sending, by message id on a callback."""

    status: str
    at: datetime
    outbox_key: str | None = None
    message_id: str | None = None
    error: str | None = None


def _moves(current: str, new: str) -> bool:
    return RANK.get(new, -1) > RANK.get(current, -1)


async def record(db: Database, platform: str, receipts: Sequence[Receipt]) -> list[str]:
    """Record receipts in one transaction; returns the outbox keys whose status changed.

    A callback for a message id the bot never recorded (sent before this table existed, or
    by another app on the same number) is ignored.
    """
    changed: list[str] = []
    if not receipts:
        return changed
    keys = {r.outbox_key for r in receipts if r.outbox_key is not None}
    ids = {r.message_id for r in receipts if r.outbox_key is None and r.message_id}
    async with db.session() as s:
        found = list(
            (
                await s.exec(
                    select(DeliveryReceipt).where(col(DeliveryReceipt.outbox_key).in_(keys))
                )
            ).all()
            if keys
            else []
        )
        if ids:
            found += (
                await s.exec(
                    select(DeliveryReceipt).where(
                        col(DeliveryReceipt.platform) == platform,
                        col(DeliveryReceipt.message_id).in_(ids),
                    )
                )
            ).all()
        by_key = {row.outbox_key: row for row in found}
        by_id = {row.message_id: row for row in found if row.message_id}
        touched: dict[str, DeliveryReceipt] = {}
        for r in receipts:
            row = by_key.get(r.outbox_key) if r.outbox_key else by_id.get(r.message_id or "")
            if row is None and r.outbox_key is None:
                continue
            if row is None:
                assert r.outbox_key is not None
                row = DeliveryReceipt(
                    outbox_key=r.outbox_key, platform=platform, status=r.status, updated_at=r.at
                )
                by_key[row.outbox_key] = row
            elif r.outbox_key is None and not _moves(row.status, r.status):
                continue  # a callback out of order (a send of the key always counts: a resend)
            row.status, row.error, row.updated_at = r.status, r.error, r.at
            row.message_id = r.message_id or row.message_id
            if row.message_id:
                by_id[row.message_id] = row
            touched[row.outbox_key] = row
        s.add_all(touched.values())
        changed = list(touched)
    return changed


async def action_sent_as(db: Database, platform: str, message_id: str) -> dict[str, Any] | None:
    """The outbox action (as stored) a platform's message id was sent for, if known."""
    async with db.reader() as s:
        row = (
            await s.exec(
                select(OutboxRow.action)
                .join(DeliveryReceipt, col(DeliveryReceipt.outbox_key) == col(OutboxRow.key))
                .where(
                    col(DeliveryReceipt.platform) == platform,
                    col(DeliveryReceipt.message_id) == message_id,
                )
            )
        ).first()
    return dict(row) if row is not None else None
