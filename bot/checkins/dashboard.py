"""The check-ins section of the organiser dashboard: rounds, answers, participation, exports.

An anonymous round is read only through its answers' text and pass flag: this module never
selects an anonymous answer's member or voter hash, and lists those answers in text order so
not even the order says who answered first.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime
from functools import partial

from sqlalchemy import func
from sqlmodel import col, select
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from bot.checkins import export
from bot.checkins.models import CheckinAnswer, CheckinRound, RoundState
from bot.dashboard.html import Html, fill, join, tag
from bot.dashboard.paging import pager, paging, search_box
from bot.dashboard.section import Download, Section, View
from bot.dashboard.svg import EMPTY, bar_chart
from bot.i18n import N_
from bot.models import Member
from bot.numerals import row_id

SHOWN = 20
"""Rounds listed on a page, newest first."""
CHARTED = 8
"""Rounds in the participation chart: as many as keep a date label readable under each."""
LABELS = {"csv": "CSV", "json": "JSON", "md": "Markdown"}
STATES = {RoundState.OPEN: N_("open"), RoundState.CLOSED: N_("closed")}
MONTHS = (
    N_("Jan"),
    N_("Feb"),
    N_("Mar"),
    N_("Apr"),
    N_("May"),
    N_("Jun"),
    N_("Jul"),
    N_("Aug"),
    N_("Sep"),
    N_("Oct"),
    N_("Nov"),
    N_("Dec"),
)
"""Short month names for the chart's dates."""

Tallies = dict[int, Counter[bool]]
"""Per round id: how many answered (False) and passed (True)."""
PlatformTallies = dict[int, dict[str, Counter[bool]]]
"""The same per round id and platform the answers were given on."""


async def render(view: View) -> Html:
    _ = view.words._
    page = paging(view, "checkins", N_("Pages of check-ins"), SHOWN)
    found = select(CheckinRound.id).where(CheckinRound.community_id == view.community.id)
    if page.query:
        found = found.where(col(CheckinRound.prompt).ilike(page.pattern(), escape="\\"))
    total = (await view.session.exec(select(func.count()).select_from(found.subquery()))).one()
    if not total and not page.query:
        return tag(
            "p",
            fill(
                _("No check-ins yet. A catalyst starts one with {command}."),
                command=tag("code", "checkin open"),
            ),
        )
    rounds = (
        await view.session.exec(
            select(CheckinRound)
            .where(col(CheckinRound.id).in_(found))
            .order_by(col(CheckinRound.opened_at).desc(), col(CheckinRound.id).desc())
            .offset(page.offset)
            .limit(page.size)
        )
    ).all()
    search = search_box(view, page, _("Find check-ins by their question"))
    if not rounds:
        return join(search, pager(view, page, total))
    tallies, by_platform = await _tallies(view, rounds)
    named, reached = await _named_answers(view, [r for r in rounds if not r.anonymous])
    anonymous = await _anonymous_answers(view, [r for r in rounds if r.anonymous])
    charts = tag(
        "div",
        _figure(_per_round(view, rounds[:CHARTED], tallies), _("Answers and passes per round")),
        _figure(
            _per_platform(view, rounds, by_platform, reached), _("Members reached per platform")
        ),
        class_="chart-wrap charts",
    )
    listed = (
        _round(
            view,
            r,
            tallies[r.id or 0],
            by_platform[r.id or 0],
            named.get(r.id or 0, anonymous.get(r.id or 0, [])),
            i,
        )
        for i, r in enumerate(rounds)
    )
    return join(charts, search, tag("div", *listed, class_="rounds"), pager(view, page, total))


async def _tallies(view: View, rounds: Sequence[CheckinRound]) -> tuple[Tallies, PlatformTallies]:
    """Answers and passes per round, and per round and platform: counted from the answers,
    or for a closed anonymous round (whose answers no longer say) as kept when it closed."""
    tallies: Tallies = defaultdict(Counter)
    by_platform: PlatformTallies = defaultdict(lambda: defaultdict(Counter))
    for round_id, platform, passed, n in (
        await view.session.exec(
            select(
                CheckinAnswer.round_id, CheckinAnswer.platform, CheckinAnswer.passed, func.count()
            )
            .where(col(CheckinAnswer.round_id).in_([r.id for r in rounds]))
            .group_by(
                col(CheckinAnswer.round_id), col(CheckinAnswer.platform), col(CheckinAnswer.passed)
            )
        )
    ).all():
        tallies[round_id][passed] += n
        if platform is not None:
            by_platform[round_id][platform][passed] = n
    for r in rounds:
        for platform, kept in (r.platform_tally or {}).items():
            counts = Counter({False: kept["answered"], True: kept["passed"]})
            by_platform[r.id or 0][platform] = counts
    return tallies, by_platform


Answer = tuple[str | None, str, bool, str | None]
"""Who (None when anonymous), what, passed, on which platform (None when anonymous)."""


async def _named_answers(
    view: View, rounds: Sequence[CheckinRound]
) -> tuple[dict[int, list[Answer]], dict[str, set[int]]]:
    """The answers of rounds that are not anonymous per round, and who gave them on each
    platform."""
    answers: dict[int, list[Answer]] = defaultdict(list)
    who: dict[str, set[int]] = defaultdict(set)
    if not rounds:
        return answers, who
    rows = (
        await view.session.exec(
            select(CheckinAnswer, Member.display_name)
            .join(Member, col(Member.id) == CheckinAnswer.member_id)
            .where(col(CheckinAnswer.round_id).in_([r.id for r in rounds]))
            .order_by(col(CheckinAnswer.id))
        )
    ).all()
    for a, name in rows:
        answers[a.round_id].append((name, a.text, a.passed, a.platform))
        who[a.platform or ""].add(a.member_id or 0)
    return answers, who


async def _anonymous_answers(view: View, rounds: Sequence[CheckinRound]) -> dict[int, list[Answer]]:
    if not rounds:
        return {}
    rows = (
        await view.session.exec(
            select(CheckinAnswer.round_id, CheckinAnswer.text, CheckinAnswer.passed)
            .where(col(CheckinAnswer.round_id).in_([r.id for r in rounds]))
            .order_by(col(CheckinAnswer.text))
        )
    ).all()
    found: dict[int, list[Answer]] = defaultdict(list)
    for round_id, text, passed in rows:
        found[round_id].append((None, text, passed, None))
    return found


def _figure(chart: Html, caption: str) -> Html:
    return tag("figure", tag("figcaption", caption), chart)


def _per_round(view: View, rounds: Sequence[CheckinRound], tallies: Tallies) -> Html:
    """Answers and passes per round, oldest on the left: is participation growing?"""
    _ = view.words._
    oldest_first = list(reversed(rounds))
    return bar_chart(
        [_day(view, r.opened_at) for r in oldest_first],
        {
            _("Answered"): [tallies[r.id or 0][False] for r in oldest_first],
            _("Passed"): [tallies[r.id or 0][True] for r in oldest_first],
        },
        title=_("Answers and passes per round"),
        height=200,
        empty=_(EMPTY),
    )


def _day(view: View, at: datetime) -> str:
    """A short date under a bar ("02 Mar"), its month named in the organiser's language."""
    local = at.astimezone(view.tz)
    return f"{local:%d} {view.words._(MONTHS[local.month - 1])}"


def _per_platform(
    view: View,
    rounds: Sequence[CheckinRound],
    by_platform: PlatformTallies,
    reached: dict[str, set[int]],
) -> Html:
    """Members reached on each platform the listed rounds were answered on.

    A named round counts each member who answered or passed once however many rounds they
    took part in; an anonymous round can only count its replies, so it is a series of its own.
    """
    replies: Counter[str] = Counter()
    for r in rounds:
        if r.anonymous:
            for platform, counts in by_platform[r.id or 0].items():
                replies[platform] += counts.total()
    _ = view.words._
    platforms = sorted(({r.platform for r in rounds} | set(reached) | set(replies)) - {""})
    return bar_chart(
        platforms,
        {
            _("Members, named"): [len(reached[p]) for p in platforms],
            _("Replies, anonymous"): [replies[p] for p in platforms],
        },
        title=_("Members reached per platform"),
        height=200,
        empty=_(EMPTY),
    )


def _round(
    view: View,
    r: CheckinRound,
    tally: Counter[bool],
    by_platform: dict[str, Counter[bool]],
    answers: list[Answer],
    index: int,
) -> Html:
    _ = view.words._
    times = [_("opened {time}", time=view.local(r.opened_at))]
    if r.closed_at:
        times.append(_("closed {time}", time=view.local(r.closed_at)))
    elif r.deadline:
        times.append(_("closes {time}", time=view.local(r.deadline)))
    kind = [_("anonymous")] if r.anonymous else []
    kind += [_("asked by direct message")] if r.dm else []
    counts = (
        _(
            "{answered} answered, {passed} passed (without names)",
            answered=tally[False],
            passed=tally[True],
        )
        if r.anonymous
        else _("{answered} answered, {passed} passed", answered=tally[False], passed=tally[True])
    )
    said = [(who, text, where) for who, text, passed, where in answers if not passed]
    listing = tag(
        "ul",
        *(
            tag("li", tag("strong", who), ": ", text, _platform(where)) if who else tag("li", text)
            for who, text, where in said
        ),
        class_="answers",
    )
    downloads = tag(
        "p",
        *(
            tag(
                "a",
                label,
                href=f"/dashboard/checkins/{fmt}?round={r.id}",
                download=f"checkin-{r.id}.{fmt}",
                class_="button",
                aria_label=_("Export round {number} as {format}", number=r.id, format=label),
            )
            for fmt, label in LABELS.items()
        ),
        class_="exports",
    )
    return tag(
        "article",
        tag(
            "h3",
            tag("span", f"#{r.id}", class_="round-id"),
            " ",
            r.prompt,
        ),
        tag(
            "p",
            tag("span", _(STATES[RoundState(r.state)]), class_=f"state state-{r.state}"),
            " · ".join(["", *kind, *times, f"{r.platform}:{r.space}"]),
            class_="meta",
        ),
        tag("p", counts, class_="counts"),
        _per_platform_counts(view, by_platform),
        tag(
            "details",
            tag("summary", view.words.ngettext("{n} answer", "{n} answers", len(said))),
            listing if said else tag("p", _("No answers yet.")),
            open=index == 0,
        ),
        downloads,
        class_="round" + (" open" if r.state == RoundState.OPEN else ""),
        aria_label=_("Round {number}: {question}", number=r.id, question=r.prompt),
    )


def _platform(where: str | None) -> Html | str:
    return join(" ", tag("span", where, class_="platform")) if where else ""


def _per_platform_counts(view: View, by_platform: dict[str, Counter[bool]]) -> Html | str:
    """A round's answers and passes on each platform it was answered on: counts only, so an
    anonymous round says no more than its totals do, platform by platform."""
    if not by_platform:
        return ""
    _ = view.words._
    return tag(
        "ul",
        *(
            tag(
                "li",
                tag("span", p, class_="platform"),
                " ",
                _("{answered} answered, {passed} passed", answered=c[False], passed=c[True]),
            )
            for p, c in sorted(by_platform.items())
        ),
        class_="per-platform",
        aria_label=_("Answers per platform"),
    )


async def serve(fmt: str, view: View, request: Request) -> Response:
    """One round of this community as a file, made by the same exporter as the chat's links."""
    round_id = row_id(request.query_params.get("round"))
    r = await view.session.get(CheckinRound, round_id) if round_id is not None else None
    if r is None or r.community_id != view.community.id:
        return PlainTextResponse(view.words._("There is no such check-in round."), status_code=404)
    return export.file_response(await export.load_export(view.session, r.id or 0), fmt)


DOWNLOADS: dict[str, Download] = {fmt: partial(serve, fmt) for fmt in export.FORMATS}

section = Section("checkins", N_("Check-ins"), render, downloads=DOWNLOADS)
