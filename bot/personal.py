"""What the bot keeps about a member, across every platform linked to them: `me data` hands
it to them as a file, `me forget` erases it.

What names the member is found from the schema, not listed here, so tables added later are
covered too: a row that refers to the member by a foreign key, and a row that names one of
their accounts where the row is theirs by name (a message they wrote in the web chat, their
direct conversation, a delivery to them). `me forget` deletes the rows that are theirs, keeps
the community's without them (an audit entry, a round they opened), and cuts their names,
account ids and attributed answers out of every other text. Anonymous answers, which nothing
ties to anyone, stay.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Column, String, Table, Text, cast, delete, or_, select, update
from sqlmodel import SQLModel, col
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from adapters.contract import Secret
from bot import i18n
from bot.checkins.models import CheckinAnswer
from bot.context import Context, Scope
from bot.errors import UserInputError
from bot.grammar import Invocation
from bot.i18n import N_
from bot.members import only_organiser
from bot.merge import identities_of, member_references
from bot.models import DataLink, Identity, Member
from bot.tokens import token_hash

if TYPE_CHECKING:
    from bot.core import Bot

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


DATA_PATH = "/me/data"
DATA_LINK_LIFETIME = timedelta(minutes=15)
DATA_LINK_STORED = "(a one-time link to your data, shown while it works; it is not kept)"
"""What the web chat's store and the outbox hold in the link's place (`Secret`)."""


async def _marks_of(scope: Scope, member: Member, identities: list[Identity]) -> list[str]:
    answers = (
        await scope.session.exec(
            select(CheckinAnswer.text).where(  # type: ignore[call-overload]
                col(CheckinAnswer.member_id) == member.id, col(CheckinAnswer.text) != ""
            )
        )
    ).all()
    return _marks(
        [member.display_name, *(i.display_name for i in identities)],
        [i.external_id for i in identities],
        [a[0] for a in answers],
    )


async def forget_member(scope: Scope, member: Member) -> int:
    """Erase `member`; returns how many rows were deleted or changed."""
    assert member.id is not None
    identities = await identities_of(scope, member.id)
    marks = await _marks_of(scope, member, identities)
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


async def member_data(scope: Scope, member: Member) -> dict[str, Any]:
    """Every row the bot holds about `member`, by table: those that refer to them, and those
    that are theirs by an account's name."""
    assert member.id is not None
    s = scope.session
    identities = await identities_of(scope, member.id)
    tables: dict[str, list[dict[str, Any]]] = {
        "member": [_plain(member.model_dump())],
        "identity": [_plain(i.model_dump()) for i in identities],
    }
    for table, column in member_references():
        if table.name == "identity":
            continue
        rows = (await s.exec(select(table).where(column == member.id))).mappings().all()  # type: ignore[call-overload]
        tables.setdefault(table.name, []).extend(_plain(dict(r)) for r in rows)
    accounts = _marks((), [i.external_id for i in identities], ())
    if accounts:
        pattern = _pattern(accounts)
        for table in SQLModel.metadata.sorted_tables:
            named = [c for c in _text_columns(table) if (table.name, c.name) in GO_WHEN_NAMED]
            if not named:
                continue
            hits = or_(*(cast(c, Text).contains(m) for c in named for m in accounts))
            for row in (await s.exec(select(table).where(hits))).mappings().all():  # type: ignore[call-overload]
                if any(row[c.name] and pattern.search(_as_text(row[c.name], c)) for c in named):
                    tables.setdefault(table.name, []).append(_plain(dict(row)))
    return {"member": member.id, "tables": {k: v for k, v in tables.items() if v}}


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """The row as JSON has it (times as text), for the file."""
    plain: dict[str, Any] = json.loads(json.dumps(row, default=str))
    return plain


def _pattern(marks: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(rf"(?<!\w){re.escape(m)}(?!\w)" for m in marks))


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
    pattern = _pattern(marks)
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
            ctx._(
                "This erases all I keep about you on every platform linked to you: your "
                "accounts, settings, answers with your name and the messages I sent you. "
                "Anonymous answers stay, since nothing ties them to you. You can't undo this. "
                "To go ahead, say {confirm}.",
                confirm=ctx.cmd("me forget confirm"),
            ),
            private=True,
        )
        return
    if await only_organiser(ctx, ctx.community, ctx.member):
        raise UserInputError(
            N_("You are the only organiser. Make someone else an organiser first.")
        )
    words = ctx.words  # the member's language, read before the member is erased
    await forget_member(ctx, ctx.member)
    await ctx.reply(words._("Done. I have erased what I kept about you. Welcome back any time."))


async def data_command(ctx: Context, inv: Invocation) -> None:
    """A private, one-time link to a file of everything kept about the caller."""
    member_id = ctx.member.id
    assert member_id is not None
    await ctx.session.exec(delete(DataLink).where(col(DataLink.member_id) == member_id))
    token = secrets.token_urlsafe(32)
    ctx.session.add(
        DataLink(
            token_hash=token_hash(token),
            member_id=member_id,
            expires_at=ctx.now + DATA_LINK_LIFETIME,
        )
    )
    minutes = int(DATA_LINK_LIFETIME.total_seconds() // 60)
    base = (ctx.bot.web_url or "").rstrip("/")
    await ctx.reply(
        ctx._(
            "All I keep about you, as a file. The link works once, for {minutes} minutes: ",
            minutes=minutes,
        ),
        Secret(f"{base}{DATA_PATH}/{token}", DATA_LINK_STORED),
        private=True,
    )


def http_routes(bot: Bot) -> list[BaseRoute]:
    async def download(request: Request) -> Response:
        hashed = token_hash(request.path_params["token"])
        async with bot.db.session() as s:
            scope = bot.scope(s)
            taken = (
                await s.exec(
                    delete(DataLink)
                    .where(col(DataLink.token_hash) == hashed, col(DataLink.expires_at) > scope.now)
                    .returning(col(DataLink.member_id))
                )
            ).first()
            member = await s.get(Member, taken[0]) if taken else None
            if member is None:
                words = i18n.words(i18n.negotiate(request.headers.get("accept-language")))
                return PlainTextResponse(
                    words._(
                        "This link does not work: it is wrong, used or too old. Ask me for a "
                        "new one with {data}.",
                        data="`me data`",
                    ),
                    status_code=404,
                )
            data = await member_data(scope, member)
        return JSONResponse(
            data,
            headers={
                "Content-Disposition": 'attachment; filename="my-data.json"',
                "Cache-Control": "no-store",
            },
        )

    return [Route(DATA_PATH + "/{token}", download)]
