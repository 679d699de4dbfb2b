"""The audit log section: what organisers changed, by whom and when, newest first."""

from __future__ import annotations

from sqlmodel import col, select

from bot.dashboard.html import Html, tag
from bot.dashboard.section import Section, View
from bot.models import AuditEntry, Member

SHOWN = 100


async def render(view: View) -> Html:
    entries = (
        await view.session.exec(
            select(AuditEntry)
            .where(AuditEntry.community_id == view.community.id)
            .order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc())
            .limit(SHOWN)
        )
    ).all()
    if not entries:
        return tag("p", "Nothing has been changed yet.")
    ids = {e.actor_member_id for e in entries} | {
        e.detail["member_id"] for e in entries if isinstance(e.detail.get("member_id"), int)
    }
    names = {
        m.id: m.display_name
        for m in (await view.session.exec(select(Member).where(col(Member.id).in_(ids)))).all()
    }
    head = tag("tr", *(tag("th", h, scope="col") for h in ("When", "Who", "What", "Details")))
    rows = [
        tag(
            "tr",
            tag("td", tag("time", view.local(e.at), datetime=e.at.isoformat()), class_="when"),
            tag("td", names.get(e.actor_member_id, "the bot"), class_="who"),
            tag("td", e.action, class_="what"),
            tag("td", _details(e.detail, names), class_="details"),
        )
        for e in entries
    ]
    return tag(
        "div",
        tag("table", tag("thead", head), tag("tbody", *rows), class_="audit"),
        class_="table-wrap",
    )


def _details(detail: dict[str, object], names: dict[int | None, str]) -> str:
    shown = []
    for key, value in detail.items():
        if key == "member_id" and isinstance(value, int):
            shown.append(f"member: {names.get(value, value)}")
        else:
            shown.append(f"{key}: {value}")
    return ", ".join(shown)


section = Section("audit", "Audit log", render)
