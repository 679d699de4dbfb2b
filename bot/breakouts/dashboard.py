"""The breakouts section of the organiser dashboard: each breakout's groups and report-backs."""

from __future__ import annotations

from collections import defaultdict

from sqlmodel import col, func, select

from bot.breakouts.models import Breakout, BreakoutGroup, BreakoutMember, BreakoutState
from bot.dashboard.html import Html, fill, join, tag
from bot.dashboard.paging import pager, paging, search_box
from bot.dashboard.section import Section, View
from bot.i18n import N_
from bot.models import Member

SHOWN = 20
"""Breakouts listed on a page, newest first."""
STATES: dict[str, str] = {
    BreakoutState.GATHERING: N_("gathering"),
    BreakoutState.RUNNING: N_("running"),
    BreakoutState.REPORTING: N_("reporting"),
    BreakoutState.CLOSED: N_("closed"),
}


async def render(view: View) -> Html:
    _ = view.words._
    page = paging(view, "breakouts", N_("Pages of breakouts"), SHOWN)
    found = select(Breakout.id).where(Breakout.community_id == view.community.id)
    if page.query:
        found = found.where(col(Breakout.provocation).ilike(page.pattern(), escape="\\"))
    total = (await view.session.exec(select(func.count()).select_from(found.subquery()))).one()
    if not total and not page.query:
        return tag(
            "p",
            fill(
                _("No breakouts yet. A catalyst starts one with {command}."),
                command=tag("code", "breakout"),
            ),
        )
    breakouts = (
        await view.session.exec(
            select(Breakout)
            .where(col(Breakout.id).in_(found))
            .order_by(col(Breakout.created_at).desc(), col(Breakout.id).desc())
            .offset(page.offset)
            .limit(page.size)
        )
    ).all()
    search = search_box(view, page, _("Find breakouts by their question"))
    ids = [b.id for b in breakouts]
    groups = (
        await view.session.exec(
            select(BreakoutGroup)
            .where(col(BreakoutGroup.breakout_id).in_(ids))
            .order_by(col(BreakoutGroup.number))
        )
    ).all()
    joined = (
        await view.session.exec(
            select(BreakoutMember, Member)
            .join(Member, col(Member.id) == BreakoutMember.member_id)
            .where(col(BreakoutMember.breakout_id).in_(ids))
        )
    ).all()
    members: dict[int | None, list[str]] = defaultdict(list)
    for bm, m in joined:
        members[bm.group_id].append(m.display_name)
    by_breakout: dict[int, list[BreakoutGroup]] = defaultdict(list)
    for g in groups:
        by_breakout[g.breakout_id].append(g)
    listed = tag(
        "div",
        *(_breakout(view, b, by_breakout[b.id or 0], members) for b in breakouts),
        class_="breakouts",
    )
    return join(search, listed, pager(view, page, total))


def _breakout(
    view: View, b: Breakout, groups: list[BreakoutGroup], members: dict[int | None, list[str]]
) -> Html:
    _ = view.words._
    heads = (_("Group"), _("Members"), _("Report-back"))
    head = tag("tr", *(tag("th", h, scope="col") for h in heads))
    rows = [
        tag(
            "tr",
            tag("td", str(g.number)),
            tag("td", ", ".join(sorted(members[g.id]))),
            tag("td", g.report or _("no report")),
        )
        for g in groups
    ]
    state = _(STATES[b.state]) if b.state in STATES else b.state
    return tag(
        "article",
        tag(
            "h3",
            _(
                "{time} · {state} · {minutes} min",
                time=view.local(b.created_at),
                state=state,
                minutes=b.minutes,
            ),
        ),
        tag("p", b.provocation, class_="provocation"),
        tag("div", tag("table", tag("thead", head), tag("tbody", *rows)), class_="table-wrap")
        if groups
        else tag("p", _("Not split into groups yet.")),
        class_="breakout",
    )


section = Section("breakouts", N_("Breakouts"), render)
