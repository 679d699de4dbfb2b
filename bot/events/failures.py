"""The dead-letter list: deliveries the platforms refused for good, and sending them again.

The `nudge failures` / `nudge retry` commands and the dashboard's list and Retry button all
go through here, so a retry means the same thing wherever an organiser presses it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlmodel import col, func, select

from adapters.codec import decode_action
from adapters.contract import SendMessage, plain_text
from bot.context import Scope
from bot.errors import UserInputError
from bot.i18n import N_
from bot.models import Community, Member, OutboxRow, OutboxState

URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)


async def dead_letters(scope: Scope, limit: int, offset: int = 0) -> Sequence[OutboxRow]:
    """The newest dead outbox rows (skipping the `offset` newest)."""
    return (
        await scope.session.exec(
            select(OutboxRow)
            .where(col(OutboxRow.state) == OutboxState.DEAD)
            .order_by(col(OutboxRow.id).desc())
            .offset(offset)
            .limit(limit)
        )
    ).all()


async def dead_count(scope: Scope) -> int:
    return (
        await scope.session.exec(
            select(func.count())
            .select_from(OutboxRow)
            .where(col(OutboxRow.state) == OutboxState.DEAD)
        )
    ).one()


def preview(row: OutboxRow, length: int = 60) -> str:
    """The start of a row's text with every address replaced by "[link]": a sign-in, export
    or calendar link is its recipient's secret, not something for a list of failures."""
    action = decode_action(row.action)
    if not isinstance(action, SendMessage):
        return row.key
    text = URL.sub("[link]", " ".join(plain_text(action.text).split()))
    return text if len(text) <= length else text[: length - 1] + "…"


async def requeue(
    scope: Scope, community: Community, actor: Member, outbox_id: int, **detail: str
) -> OutboxRow:
    """A dead row back to pending, due now, with its attempts and deadlines reset; audited."""
    row = await scope.session.get(OutboxRow, outbox_id) if 0 < outbox_id < 2**31 else None
    if row is None or row.state != OutboxState.DEAD:
        shown = str(outbox_id)[:12]
        raise UserInputError(
            N_("There is no failed message {id}. `nudge failures` lists them."), id=shown
        )
    row.state, row.attempts, row.next_attempt_at = OutboxState.PENDING, 0, scope.now
    row.not_after = row.grace_until = None
    scope.session.add(row)
    scope.woken.add(f"outbox:{row.platform}")
    await scope.audit(community, actor, "nudge.retry", outbox_id=row.id, **detail)
    return row
