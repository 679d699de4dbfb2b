"""The audit log section: what organisers changed, by whom and when, newest first, a page at
a time and searchable by what was done or who did it."""

from __future__ import annotations

from sqlmodel import col, func, select

from bot.dashboard.html import Html, join, tag
from bot.dashboard.paging import pager, paging, search_box
from bot.dashboard.section import Section, View
from bot.i18n import N_
from bot.models import AuditEntry, Member


async def render(view: View) -> Html:
    _ = view.words._
    page = paging(view, "audit", N_("Pages of changes"))
    found = select(AuditEntry.id).where(AuditEntry.community_id == view.community.id)
    if page.query:
        by_name = select(Member.id).where(
            col(Member.display_name).ilike(page.pattern(), escape="\\")
        )
        found = found.where(
            col(AuditEntry.action).ilike(page.pattern(), escape="\\")
            | col(AuditEntry.actor_member_id).in_(by_name)
        )
    total = (await view.session.exec(select(func.count()).select_from(found.subquery()))).one()
    if not total and not page.query:
        return tag("p", _("Nothing has been changed yet."))
    entries = (
        await view.session.exec(
            select(AuditEntry)
            .where(col(AuditEntry.id).in_(found))
            .order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc())
            .offset(page.offset)
            .limit(page.size)
        )
    ).all()
    search = search_box(view, page, _("Find changes by what or who"))
    if not entries:
        return join(search, pager(view, page, total))
    ids = {e.actor_member_id for e in entries} | {
        e.detail["member_id"] for e in entries if isinstance(e.detail.get("member_id"), int)
    }
    names = {
        m.id: m.display_name
        for m in (await view.session.exec(select(Member).where(col(Member.id).in_(ids)))).all()
    }
    heads = (_("When"), _("Who"), _("What"), _("Details"))
    head = tag("tr", *(tag("th", h, scope="col") for h in heads))
    rows = [
        tag(
            "tr",
            tag("td", tag("time", view.local(e.at), datetime=e.at.isoformat()), class_="when"),
            tag("td", names.get(e.actor_member_id, _("the bot")), class_="who"),
            tag("td", e.action, class_="what"),
            tag("td", _details(view, e.detail, names), class_="details"),
        )
        for e in entries
    ]
    table = tag(
        "div",
        tag("table", tag("thead", head), tag("tbody", *rows), class_="audit"),
        class_="table-wrap",
    )
    return join(search, table, pager(view, page, total))


def _details(view: View, detail: dict[str, object], names: dict[int | None, str]) -> str:
    """The entry's fields as recorded (their names are the log's, like its actions)."""
    shown = []
    for key, value in detail.items():
        if key == "member_id" and isinstance(value, int):
            shown.append(view.words._("member: {name}", name=names.get(value, value)))
        else:
            shown.append(f"{key}: {value}")
    return ", ".join(shown)


section = Section("audit", N_("Audit log"), render)
