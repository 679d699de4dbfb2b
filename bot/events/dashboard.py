"""The events section of the organiser dashboard: upcoming events, the nudges on their way
to members and how their delivery stands, and the dead-letter list with a Retry button.

Texts are shown as `preview`s, with every address hidden: a queued DM may carry a member's
sign-in or export link.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select

from bot.dashboard.html import Html, fill, join, tag
from bot.dashboard.paging import pager, paging, search_box
from bot.dashboard.section import Section, View
from bot.errors import UserInputError
from bot.events.failures import dead_count, dead_letters, preview, requeue
from bot.events.ical import calendar_path
from bot.events.models import Event
from bot.events.nudges import offset_words
from bot.events.occurrences import next_occurrence, recurrence
from bot.i18n import N_
from bot.models import Member, OutboxRow, OutboxState
from bot.numerals import row_id
from bot.receipts import RANK, DeliveryReceipt
from bot.recurrence import describe

SHOWN = 20
"""Events, next nudges and dead letters listed on a page, each."""
DELIVERY = {
    OutboxState.PENDING: N_("waiting"),
    OutboxState.SENDING: N_("sending"),
    OutboxState.SENT: N_("sent"),
    OutboxState.DEAD: N_("failed"),
    OutboxState.SKIPPED: N_("skipped"),
}
REPORTED = {
    "held": N_("held"),
    "accepted": N_("accepted"),
    "sent": N_("sent"),
    "delivered": N_("delivered"),
    "read": N_("read"),
    "failed": N_("failed"),
}
"""What a platform reported (`bot.receipts.RANK`), as shown."""


async def render(view: View) -> Html:
    _ = view.words._
    return join(
        tag("h3", _("Upcoming events")),
        await _events(view),
        tag("h3", _("Nudges to members")),
        await _nudges(view),
        tag("h3", _("Failed deliveries")),
        await _dead(view),
        tag("h3", _("What platforms reported")),
        await _receipts(view),
    )


def _table(kind: str, heads: tuple[str, ...], rows: list[Html]) -> Html:
    head = tag("tr", *(tag("th", h, scope="col") for h in heads))
    return tag(
        "div",
        tag("table", tag("thead", head), tag("tbody", *rows), class_=kind),
        class_="table-wrap",
    )


async def _events(view: View) -> Html:
    _ = view.words._
    events = (
        await view.session.exec(
            select(Event).where(
                col(Event.community_id) == view.community.id, col(Event.cancelled).is_(False)
            )
        )
    ).all()
    ahead = sorted(
        ((o.start, e) for e in events if (o := next_occurrence(e, view.now)) is not None),
        key=lambda pair: (pair[0], pair[1].id or 0),
    )
    if not ahead:
        return tag(
            "p",
            fill(
                _("No events coming up. An organiser adds one with {command}."),
                command=tag("code", "event add"),
            ),
        )
    page = paging(view, "events", N_("Pages of events"), SHOWN)
    wanted = page.query.casefold()
    found = [(at, e) for at, e in ahead if wanted in e.title.casefold()]
    rows = []
    for at, e in found[page.offset : page.offset + page.size]:
        rule = recurrence(e)
        nudges = []
        if e.remind:
            before = ", ".join(offset_words(r) for r in e.remind)
            nudges.append(_("reminders {times} before", times=before))
        if e.followup_seconds is not None:
            after = offset_words(e.followup_seconds)
            nudges.append(
                _("follow-up check-in {time} after", time=after)
                if e.followup_space
                else _("follow-up {time} after", time=after)
            )
        rows.append(
            tag(
                "tr",
                tag("td", e.title, class_="name"),
                tag("td", tag("time", view.local(at), datetime=at.isoformat()), class_="when"),
                tag("td", describe(rule, view.words) if rule else _("once")),
                tag("td", "; ".join(nudges) or _("none")),
                tag("td", tag("a", ".ics", href=calendar_path(e), download=True)),
                data_event=e.id,
            )
        )
    return join(
        search_box(view, page, _("Find events by title")),
        _table("events", (_("Event"), _("Next"), _("Repeats"), _("Nudges"), _("Calendar")), rows)
        if rows
        else "",
        pager(view, page, len(found)),
    )


async def _nudges(view: View) -> Html:
    """Outbox rows with a recipient are nudges; counted per state, the next pending listed."""
    _ = view.words._
    counts = dict(
        (
            await view.session.exec(
                select(OutboxRow.state, func.count())
                .join(Member, col(Member.id) == col(OutboxRow.recipient_member_id))
                .where(col(Member.community_id) == view.community.id)
                .group_by(col(OutboxRow.state))
            )
        ).all()
    )
    if not counts:
        return tag("p", _("No nudges have been queued yet."))
    tally = tag(
        "ul",
        *(
            tag(
                "li",
                tag("span", _(DELIVERY[state]), class_=f"state state-{state}"),
                f" {counts.get(state, 0)}",
            )
            for state in OutboxState
        ),
        class_="tally",
        aria_label=_("Nudges per delivery state"),
    )
    page = paging(view, "nudges", N_("Pages of nudges"), SHOWN)
    pending = (
        await view.session.exec(
            select(OutboxRow, Member)
            .join(Member, col(Member.id) == col(OutboxRow.recipient_member_id))
            .where(
                col(Member.community_id) == view.community.id,
                col(OutboxRow.state) == OutboxState.PENDING,
            )
            .order_by(col(OutboxRow.next_attempt_at), col(OutboxRow.id))
            .offset(page.offset)
            .limit(page.size)
        )
    ).all()
    rows = [
        tag(
            "tr",
            tag("td", _when(view, row.next_attempt_at), class_="when"),
            tag("td", member.display_name, class_="name"),
            tag("td", preview(row)),
            data_outbox=row.id,
        )
        for row, member in pending
    ]
    listed = (
        _table("nudges", (_("Due"), _("To"), _("Text")), rows)
        if rows
        else tag("p", _("Nothing is waiting to be sent."))
    )
    return join(tally, listed, pager(view, page, counts.get(OutboxState.PENDING, 0)))


async def _dead(view: View) -> Html:
    _ = view.words._
    page = paging(view, "dead", N_("Pages of failed deliveries"), SHOWN)
    dead = await dead_letters(view.scope, page.size, page.offset)
    if not dead and page.number == 1:
        return tag("p", _("No failed deliveries."))
    ids = {row.recipient_member_id for row in dead} - {None}
    names = {
        m.id: m.display_name
        for m in (await view.session.exec(select(Member).where(col(Member.id).in_(ids)))).all()
    }
    rows = []
    for row in dead:
        error = (row.last_error or _("unknown"))[:200]
        retry = view.form(
            "events",
            "retry",
            tag("input", type="hidden", name="outbox", value=row.id),
            submit=_("Retry"),
            label=_("Retry delivery {number}", number=row.id),
        )
        rows.append(
            tag(
                "tr",
                tag("td", row.platform),
                tag("td", names.get(row.recipient_member_id, _("a space"))),
                tag("td", _when(view, row.next_attempt_at), class_="when"),
                tag(
                    "td",
                    view.words.ngettext(
                        "{error} ({n} try)",
                        "{error} ({n} tries)",
                        row.attempts,
                        error=error,
                    ),
                ),
                tag("td", preview(row)),
                tag("td", retry),
                data_outbox=row.id,
            )
        )
    total = await dead_count(view.scope)
    return join(
        _table(
            "dead",
            (_("Platform"), _("To"), _("Last tried"), _("Error"), _("Text"), _("Retry")),
            rows,
        ),
        pager(view, page, total),
    )


async def _receipts(view: View) -> Html:
    """Delivery receipts (WhatsApp's sent, delivered, read, failed; `held` while a message
    waits for the member to write) of nudges to this community's members."""
    _ = view.words._
    base = (
        select(DeliveryReceipt, OutboxRow, Member)
        .join(OutboxRow, col(OutboxRow.key) == col(DeliveryReceipt.outbox_key))
        .join(Member, col(Member.id) == col(OutboxRow.recipient_member_id))
        .where(col(Member.community_id) == view.community.id)
    )
    counts = dict(
        (
            await view.session.exec(
                select(DeliveryReceipt.status, func.count())
                .join(OutboxRow, col(OutboxRow.key) == col(DeliveryReceipt.outbox_key))
                .join(Member, col(Member.id) == col(OutboxRow.recipient_member_id))
                .where(col(Member.community_id) == view.community.id)
                .group_by(col(DeliveryReceipt.status))
            )
        ).all()
    )
    if not counts:
        return tag("p", _("No platform has reported on a delivery yet."))
    tally = tag(
        "ul",
        *(
            tag(
                "li",
                tag("span", _(REPORTED[state]), class_=f"state receipt-{state}"),
                f" {counts[state]}",
            )
            for state in RANK
            if state in counts
        ),
        class_="tally",
        aria_label=_("Nudges per reported status"),
    )
    latest = (
        await view.session.exec(
            base.where(col(DeliveryReceipt.status).in_(("failed", "held")))
            .order_by(col(DeliveryReceipt.updated_at).desc())
            .limit(SHOWN)
        )
    ).all()
    rows = [
        tag(
            "tr",
            tag("td", receipt.platform),
            tag("td", member.display_name, class_="name"),
            tag(
                "td", _(REPORTED[receipt.status]) if receipt.status in REPORTED else receipt.status
            ),
            tag("td", _when(view, receipt.updated_at), class_="when"),
            tag("td", (receipt.error or "")[:200]),
            tag("td", preview(row)),
            data_outbox=row.id,
        )
        for receipt, row, member in latest
    ]
    if not rows:
        return tally
    return join(
        tally,
        _table(
            "receipts",
            (_("Platform"), _("To"), _("Status"), _("When"), _("Error"), _("Text")),
            rows,
        ),
    )


def _when(view: View, at: datetime) -> Html:
    return tag("time", view.local(at), datetime=at.isoformat())


async def retry(view: View, form: Mapping[str, str]) -> None:
    """The Retry button: the same requeue and audit entry as `nudge retry`."""
    outbox_id = row_id(form.get("outbox"))
    if outbox_id is None:
        raise UserInputError(view.words._("Name the failed delivery by its number."))
    await requeue(view.scope, view.community, view.organiser, outbox_id, via="dashboard")


section = Section("events", N_("Events and nudges"), render, forms={"retry": retry})
