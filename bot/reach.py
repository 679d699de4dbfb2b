"""Where a member's direct messages go: the platform they chose (`me reach`), then their other
linked platforms, and the next one when a platform refuses them for good."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlmodel import col, select

from adapters.codec import decode_action
from adapters.contract import Capability, Direct, PlatformName, SendMessage, UserId
from bot.context import Scope
from bot.models import Identity, Member, OutboxRow

log = logging.getLogger(__name__)
VIA = "|via:"
"""Joins an outbox key to the platforms its message was moved to: `nudge:1:m5|via:matrix`."""


def dm_order(
    scope: Scope, member: Member, identities: Sequence[Identity], prefer: str | None = None
) -> list[Identity]:
    """The member's identities with direct messages, best first: their chosen platform, then
    `prefer` (where the conversation is), then the oldest."""
    usable = [i for i in identities if Capability.DIRECT_MESSAGES in scope.capabilities(i.platform)]
    return sorted(
        usable, key=lambda i: (i.platform != member.reach, i.platform != prefer, i.id or 0)
    )


async def reroute(scope: Scope, row_id: int, error: str) -> str | None:
    """A DM to a member failed for good: queue it to their next platform, if they have one
    not tried yet. Returns that platform."""
    row = await scope.session.get(OutboxRow, row_id)
    if row is None or row.recipient_member_id is None:
        return None
    action = decode_action(row.action)
    if not isinstance(action, SendMessage) or not isinstance(action.to, Direct):
        return None
    member = await scope.session.get(Member, row.recipient_member_id)
    if member is None:
        return None
    tried = {row.platform, *row.key.split(VIA)[1:]}
    identities = (
        await scope.session.exec(
            select(Identity).where(Identity.member_id == member.id).order_by(col(Identity.id))
        )
    ).all()
    candidates = [i for i in dm_order(scope, member, identities) if i.platform not in tried]
    if not candidates:
        return None
    nxt = candidates[0]
    moved = SendMessage(
        key=f"{row.key}{VIA}{nxt.platform}",
        to=Direct(PlatformName(nxt.platform), UserId(nxt.external_id)),
        text=action.text,
        buttons=action.buttons,
        purpose=action.purpose,
    )
    log.warning(
        "outbox %s: %s refused member %s for good (%s); moved to %s",
        row_id,
        row.platform,
        member.id,
        error[:200],
        nxt.platform,
    )
    await scope.perform(
        moved,
        nxt.platform,
        recipient=member,
        not_after=row.not_after,
        grace_until=row.grace_until,
    )
    return nxt.platform
