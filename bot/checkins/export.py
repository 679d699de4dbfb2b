"""A round's answers as CSV, JSON or Markdown, served at short-lived unguessable links.

The chat gets a link rather than the file (few platforms take attachments from a bot); only
the SHA-256 of the link's token is stored, and the link expires after 15 minutes. The command
line (`community-bot export`) writes the same files.
"""

from __future__ import annotations

import csv
import io
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot import i18n
from bot.checkins.models import CheckinAnswer, CheckinExport, CheckinRound, RoundState
from bot.config import Config
from bot.i18n import ENGLISH, Words
from bot.models import Member
from bot.tokens import token_hash

if TYPE_CHECKING:
    from bot.context import Scope
    from bot.core import Bot

MEDIA: Final = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "md": "text/markdown; charset=utf-8",
}
FORMATS: Final = tuple(MEDIA)
LINK_LIFETIME: Final = timedelta(minutes=15)
PATH: Final = "/checkins/export"


@dataclass(frozen=True)
class Row:
    member: str | None
    """None in an anonymous round."""
    text: str
    passed: bool
    answered_at: datetime | None


@dataclass(frozen=True)
class Export:
    round: CheckinRound
    rows: Sequence[Row]

    @property
    def answered(self) -> int:
        return sum(1 for r in self.rows if not r.passed)

    @property
    def passed(self) -> int:
        return sum(1 for r in self.rows if r.passed)


async def load_export(session: AsyncSession, round_id: int) -> Export:
    """The round and its answers; raises LookupError when there is no such round.

    An anonymous round still open is exported in text order, so row order says nothing of
    who answered first.
    """
    r = await session.get(CheckinRound, round_id)
    if r is None:
        raise LookupError(f"there is no check-in round {round_id}")
    answers = (
        await session.exec(
            select(CheckinAnswer)
            .where(CheckinAnswer.round_id == round_id)
            .order_by(col(CheckinAnswer.id))
        )
    ).all()
    ids = {a.member_id for a in answers if a.member_id is not None}
    names = (
        {
            m.id: m.display_name
            for m in (await session.exec(select(Member).where(col(Member.id).in_(ids)))).all()
        }
        if ids
        else {}
    )
    rows = [
        Row(
            names.get(a.member_id, "?") if a.member_id is not None else None,
            a.text,
            a.passed,
            a.answered_at,
        )
        for a in answers
    ]
    if r.anonymous and r.state == RoundState.OPEN:
        rows.sort(key=lambda row: (row.passed, row.text))
    return Export(r, rows)


async def write_export(database_url: str, round_id: int, fmt: str) -> str | None:
    """The export of one round, read from the database (for the command line); None if absent."""
    from bot.db import Database

    db = Database(database_url)
    try:
        await db.upgrade()
        async with db.reader() as s:
            return render(await load_export(s, round_id), fmt)
    except LookupError:
        return None
    finally:
        await db.close()


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def render(export: Export, fmt: str, words: Words = ENGLISH) -> str:
    """The export as text in `fmt` (one of `FORMATS`); every answer exactly as written."""
    r = export.round
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["round", "prompt", "member", "answer", "passed", "answered_at"])
        for row in export.rows:
            writer.writerow(
                [
                    r.id,
                    r.prompt,
                    row.member or "",
                    row.text,
                    "yes" if row.passed else "no",
                    _iso(row.answered_at) or "",
                ]
            )
        return out.getvalue()
    if fmt == "json":
        data: dict[str, Any] = {
            "round": r.id,
            "prompt": r.prompt,
            "prompt_id": r.prompt_id,
            "anonymous": r.anonymous,
            "state": r.state,
            "opened_at": _iso(r.opened_at),
            "closed_at": _iso(r.closed_at),
            "answered": export.answered,
            "passed": export.passed,
            "answers": [
                {
                    "member": row.member,
                    "answer": row.text,
                    "passed": row.passed,
                    "answered_at": _iso(row.answered_at),
                }
                for row in export.rows
            ],
        }
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    if fmt == "md":
        counts = words._(
            "{answered} answered, {passed} passed.",
            answered=export.answered,
            passed=export.passed,
        )
        about = [
            counts,
            words._("Anonymous.") if r.anonymous else "",
            words._("Opened {when}.", when=_iso(r.opened_at)),
            words._("Closed {when}.", when=_iso(r.closed_at))
            if r.closed_at
            else words._("Still open."),
        ]
        lines = [
            words._("# Check-in {id}: {prompt}", id=r.id, prompt=r.prompt),
            "",
            " ".join(a for a in about if a),
            "",
        ]
        for row in export.rows:
            if row.passed:
                continue
            body = row.text.replace("\n", "\n  ")
            lines.append(f"- **{row.member}**: {body}" if row.member else f"- {body}")
        return "\n".join(lines) + "\n"
    raise ValueError(f"unknown export format {fmt!r}")


STORED = "(a download link, shown while it works; it is not kept)"
"""What the web chat's store and the outbox hold in the link's place (`Secret`)."""


def base_url(config: Config) -> str:
    web = config.model.web
    return (web.public_url or f"http://{web.host}:{web.port}").rstrip("/")


async def make_link(
    scope: Scope, round_id: int, fmt: str, *, lifetime: timedelta = LINK_LIFETIME
) -> str:
    """A new download link for the round, valid for `lifetime`; expired ones are dropped."""
    await scope.session.exec(
        delete(CheckinExport).where(col(CheckinExport.expires_at) <= scope.now)
    )
    token = secrets.token_urlsafe(32)
    scope.session.add(
        CheckinExport(
            token_hash=token_hash(token),
            round_id=round_id,
            format=fmt,
            expires_at=scope.now + lifetime,
        )
    )
    return f"{base_url(scope.bot.config)}{PATH}/{token}"


def file_response(export: Export, fmt: str, words: Words = ENGLISH) -> Response:
    """The export as a download (for the chat's links and the dashboard's buttons)."""
    return Response(
        render(export, fmt, words),
        media_type=MEDIA[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="checkin-{export.round.id}.{fmt}"',
            "Cache-Control": "no-store",
        },
    )


def http_routes(bot: Bot) -> list[BaseRoute]:
    async def download(request: Request) -> Response:
        token = request.path_params["token"]
        browser = i18n.negotiate(request.headers.get("accept-language"))
        words = i18n.words(i18n.choose(browser, bot.config.model.community.language))
        async with bot.db.reader() as s:
            link = await s.get(CheckinExport, token_hash(token))
            if link is None or link.expires_at <= bot.clock.now():
                return PlainTextResponse(
                    words._(
                        "This link does not work: it is wrong or too old. Ask me for a new one "
                        "with {export}.",
                        export="`checkin export`",
                    ),
                    status_code=404,
                )
            export = await load_export(s, link.round_id)
        return file_response(export, link.format, words)

    return [Route(PATH + "/{token}", download)]
