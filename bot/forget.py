"""`me forget`: erase a member, across every platform linked to them.

What names the member is found from the schema, not listed here, so tables added later are
covered too: a row that refers to the member by a foreign key is deleted when it belongs to
them (an identity, an answer, a delivery, a seat in a breakout) and keeps its place without
them when it belongs to the community (an audit entry, a round they opened); then every text
column of every table is searched for their names, account ids and attributed answers, which
are cut out (a summary in the outbox, a report) or deleted with their row (a message they wrote
in the web chat). Anonymous answers, which nothing ties to anyone, stay.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import JSON, Column, String, Table, Text, cast, delete, or_, select, update
from sqlmodel import SQLModel, col

from bot.checkins.models import CheckinAnswer
from bot.context import Context, Scope
from bot.errors import UserInputError
from bot.grammar import Invocation
from bot.members import only_organiser
from bot.merge import identities_of, member_references
from bot.models import Identity, Member

GONE = "(forgotten)"
MIN_MARK = 3
"""Shorter names are not searched for: 'Al' would cut words out of everyone's messages."""
THEIRS = {("outbox", "recipient_member_id")}
"""Member columns that may be empty but, when set, make the row the member's own (a delivery
to them), so it goes with them rather than staying without them."""
GO_WHEN_NAMED = {
    ("web_message", "user"),
    ("web_message", "room"),
    ("space", "external_id"),
    ("adapterstate", "key"),
    ("outbox", "action"),
}
"""Columns whose row goes when they name the member: a message they wrote, their direct
conversation, an adapter's note about them, a delivery to or about them."""


async def forget_member(scope: Scope, member: Member) -> int:
    """Erase `member`; returns how many rows were deleted or changed."""
    assert member.id is not None
    identities = await identities_of(scope, member.id)
    answers = (
        await scope.session.exec(
            select(CheckinAnswer.text).where(  # type: ignore[call-overload]
                col(CheckinAnswer.member_id) == member.id, col(CheckinAnswer.text) != ""
            )
        )
    ).all()
    marks = _marks(
        [member.display_name, *(i.display_name for i in identities)],
        [i.external_id for i in identities],
        [a[0] for a in answers],
    )
    changed = await _unlink_rows(scope, member, identities)
    changed += await _scrub_texts(scope, marks)
    return changed


def _marks(names: Iterable[str], accounts: Iterable[str], answers: Iterable[str]) -> list[str]:
    found = {m.strip() for m in (*names, *accounts, *answers) if len(m.strip()) >= MIN_MARK}
    return sorted(found, key=len, reverse=True)  # longest first: an answer before a name in it


async def _unlink_rows(scope: Scope, member: Member, identities: list[Identity]) -> int:
    s = scope.session
    changed = 0
    identity_ids = [i.id for i in identities]
    for table in SQLModel.metadata.sorted_tables:
        for column in table.columns:
            targets = {fk.column.table.name for fk in column.foreign_keys}
            if "identity" in targets and table.name != "identity":
                result = await s.exec(delete(table).where(column.in_(identity_ids)))
                changed += result.rowcount
    for table, column in reversed(member_references()):
        where = column == member.id
        if column.nullable and (table.name, column.name) not in THEIRS:
            result = await s.exec(update(table).where(where).values({column.name: None}))
        else:
            result = await s.exec(delete(table).where(where))
        changed += result.rowcount
    await s.exec(delete(Member).where(col(Member.id) == member.id))
    s.expunge(member)
    return changed + 1


def _text_columns(table: Table) -> list[Column[Any]]:
    return [
        c for c in table.columns if isinstance(c.type, String | Text | JSON) and not c.foreign_keys
    ]


async def _scrub_texts(scope: Scope, marks: list[str]) -> int:
    """Delete the rows whose `GO_WHEN_NAMED` column names the member; cut the marks out of
    every other text."""
    if not marks:
        return 0
    s = scope.session
    pattern = re.compile("|".join(rf"(?<!\w){re.escape(m)}(?!\w)" for m in marks))
    changed = 0
    for table in SQLModel.metadata.sorted_tables:
        columns = _text_columns(table)
        if not columns:
            continue
        key = list(table.primary_key.columns)
        hits = or_(*(cast(c, Text).contains(m) for c in columns for m in marks))
        rows = (await s.exec(select(*key, *columns).where(hits))).all()  # type: ignore[call-overload]
        for row in rows:
            where = [k == row[i] for i, k in enumerate(key)]
            values = dict(zip((c.name for c in columns), row[len(key) :], strict=True))
            named = {
                c.name
                for c in columns
                if values[c.name] is not None and pattern.search(_as_text(values[c.name], c))
            }
            if not named:
                continue  # the mark was inside a longer word
            if any((table.name, name) in GO_WHEN_NAMED for name in named):
                await s.exec(delete(table).where(*where))
            else:
                new = {n: _cut(values[n], table.c[n], pattern) for n in named}
                await s.exec(update(table).where(*where).values(new))
            changed += 1
    return changed


def _as_text(value: Any, column: Column[Any]) -> str:
    return json.dumps(value, ensure_ascii=False) if isinstance(column.type, JSON) else str(value)


def _cut(value: Any, column: Column[Any], pattern: re.Pattern[str]) -> Any:
    cut = pattern.sub(GONE, _as_text(value, column))
    return json.loads(cut) if isinstance(column.type, JSON) else cut


async def forget_command(ctx: Context, inv: Invocation) -> None:
    """Twice: once to be told what it does, once with `confirm` to do it."""
    if [a.lower() for a in inv.args] != ["confirm"]:
        await ctx.reply(
            "This erases everything I keep about you on every platform linked to you: your "
            "accounts, settings, attributed answers and deliveries. Anonymous answers stay, "
            "since nothing ties them to you. It cannot be undone. To go ahead, say "
            f"{ctx.command('me forget confirm', ctx.platform)}.",
            private=True,
        )
        return
    if await only_organiser(ctx, ctx.community, ctx.member):
        raise UserInputError("You are the only organiser; make someone else one first.")
    await forget_member(ctx, ctx.member)
    await ctx.reply("Done: I have erased what I kept about you. Welcome back any time.")
