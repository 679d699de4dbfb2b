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

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel, col, select

from bot.db import Database
from bot.models import utc_column

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
    async with db.session() as s:
        by_id = {r.message_id for r in receipts if r.outbox_key is None and r.message_id}
        known = (
            {
                row.message_id: row
                for row in (
                    await s.exec(
                        select(DeliveryReceipt).where(
                            col(DeliveryReceipt.platform) == platform,
                            col(DeliveryReceipt.message_id).in_(by_id),
                        )
                    )
                ).all()
            }
            if by_id
            else {}
        )
        for r in receipts:
            if r.outbox_key is not None:
                row = await s.get(DeliveryReceipt, r.outbox_key)
                if row is None:
                    row = DeliveryReceipt(
                        outbox_key=r.outbox_key,
                        platform=platform,
                        status=r.status,
                        updated_at=r.at,
                    )
                elif not _moves(row.status, r.status):
                    continue
                row.status = r.status
                row.message_id = r.message_id or row.message_id
                row.error = r.error
                row.updated_at = r.at
                if row.message_id:
                    known[row.message_id] = row
            else:
                found = known.get(r.message_id or "")
                if found is None or not _moves(found.status, r.status):
                    continue
                row = found
                row.status, row.error, row.updated_at = r.status, r.error, r.at
            s.add(row)
            changed.append(row.outbox_key)
    return changed
