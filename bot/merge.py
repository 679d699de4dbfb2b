"""Joining two members into one, and splitting an identity off again.

Every row that names a member by a foreign key follows the merge, found from the schema rather
than listed here, so a table added later follows too. Where both members have a row that may
exist once per member (an answer to the same round, a seat in the same breakout), the kept
member's row stays and the other's goes. Rituals whose rows name members without a foreign key
(an anonymous round's keyed hashes) merge theirs through `Router.merges`.
"""

from __future__ import annotations

from functools import cache

from sqlalchemy import Column, Table, delete, exists, update
from sqlmodel import SQLModel, col, select

from bot.context import Scope
from bot.models import Identity, Member, Role


@cache
def member_references() -> tuple[tuple[Table, Column[int]], ...]:
    """Every column that holds a member's id, with the columns that make it unique."""
    found = []
    for table in SQLModel.metadata.sorted_tables:
        if table.name == "member":
            continue
        for column in table.columns:
            if any(fk.column.table.name == "member" for fk in column.foreign_keys):
                found.append((table, column))
    return tuple(found)


def _unique_with(table: Table, column: Column[int]) -> list[list[Column[object]]]:
    """The other columns of each unique constraint (or primary key) that holds `column`."""
    groups = []
    for constraint in table.constraints:
        columns = list(getattr(constraint, "columns", ()))
        unique = constraint is table.primary_key or type(constraint).__name__ == "UniqueConstraint"
        if unique and column in columns:
            groups.append([c for c in columns if c is not column])
    return groups


async def merge_members(scope: Scope, keep: Member, gone: Member) -> None:
    """Fold `gone` into `keep`: its identities, answers, seats and history; the higher role;
    `keep`'s preferences where set, else `gone`'s. `gone` is deleted."""
    assert keep.id is not None and gone.id is not None
    for router in scope.bot.routers:
        for hook in router.merges:
            await hook(scope, keep.id, gone.id)
    s = scope.session
    for table, column in member_references():
        for others in _unique_with(table, column):
            twin = table.alias()
            clash = exists().where(
                twin.c[column.name] == keep.id, *[twin.c[o.name] == o for o in others]
            )
            await s.exec(delete(table).where(column == gone.id, clash))
        await s.exec(update(table).where(column == gone.id).values({column.name: keep.id}))
    keep.role = max(keep.role, gone.role)
    keep.timezone = keep.timezone or gone.timezone
    if keep.quiet_start is None:
        keep.quiet_start, keep.quiet_end = gone.quiet_start, gone.quiet_end
    keep.paused = keep.paused or gone.paused
    keep.reach = keep.reach or gone.reach
    s.add(keep)
    await s.exec(delete(Member).where(col(Member.id) == gone.id))
    s.expunge(gone)


async def split_identity(scope: Scope, member: Member, identity: Identity) -> Member:
    """Make `identity` a member of its own again, with `member`'s preferences and no role
    beyond member's; what was said before stays with `member`."""
    s = scope.session
    alone = Member(
        community_id=member.community_id,
        display_name=identity.display_name,
        role=Role.MEMBER,
        timezone=member.timezone,
        quiet_start=member.quiet_start,
        quiet_end=member.quiet_end,
        paused=member.paused,
        created_at=scope.now,
    )
    s.add(alone)
    await s.flush()
    assert alone.id is not None
    identity.member_id = alone.id
    s.add(identity)
    if member.reach == identity.platform:
        member.reach = None
        s.add(member)
    return alone


async def identities_of(scope: Scope, member_id: int) -> list[Identity]:
    rows = await scope.session.exec(
        select(Identity).where(Identity.member_id == member_id).order_by(col(Identity.id))
    )
    return list(rows.all())
