"""The members section: who is in the community, on which platforms, with which role."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from sqlmodel import col, func, select

from bot.dashboard.html import Html, join, tag
from bot.dashboard.paging import pager, paging, search_box
from bot.dashboard.section import Section, View
from bot.dashboard.svg import EMPTY, bar_chart
from bot.errors import UserInputError
from bot.i18n import N_
from bot.members import change_role
from bot.merge import merge_members
from bot.models import Identity, Member, Role
from bot.numerals import row_id

ROLES = {Role.MEMBER: N_("member"), Role.CATALYST: N_("catalyst"), Role.ORGANISER: N_("organiser")}
"""Each role's name as shown; the form sends `Role.label`, the word the `role` command takes."""
PEOPLE = {
    Role.MEMBER: N_("Members"),
    Role.CATALYST: N_("Catalysts"),
    Role.ORGANISER: N_("Organisers"),
}


async def render(view: View) -> Html:
    _ = view.words._
    page = paging(view, "members", N_("Pages of members"))
    everyone = select(Member.id).where(Member.community_id == view.community.id)
    if page.query:
        named = col(Member.display_name).ilike(page.pattern(), escape="\\")
        on_platform = col(Member.id).in_(
            select(Identity.member_id).where(
                col(Identity.external_id).ilike(page.pattern(), escape="\\")
            )
        )
        everyone = everyone.where(named | on_platform)
    total = (await view.session.exec(select(func.count()).select_from(everyone.subquery()))).one()
    if not total and not page.query:
        return tag("p", _("Nobody has talked to the bot yet."))
    members = (
        await view.session.exec(
            select(Member)
            .where(col(Member.id).in_(everyone))
            .order_by(col(Member.display_name), col(Member.id))
            .offset(page.offset)
            .limit(page.size)
        )
    ).all()
    identities = (
        await view.session.exec(
            select(Identity).where(col(Identity.member_id).in_([m.id for m in members]))
        )
    ).all()
    platforms: dict[int, list[str]] = defaultdict(list)
    for i in identities:
        platforms[i.member_id].append(f"{i.platform}:{i.external_id}")
    rows = [_row(view, m, sorted(platforms[m.id or 0])) for m in members]
    heads = (_("Name"), _("Platforms"), _("Role"), _("Change"))
    head = tag("tr", *(tag("th", h, scope="col") for h in heads))
    table = tag(
        "div",
        tag("table", tag("thead", head), tag("tbody", *rows), class_="members"),
        class_="table-wrap",
    )
    return join(
        tag("div", await _by_platform(view), class_="chart-wrap"),
        search_box(view, page, _("Find a member by name or account")),
        table if rows else "",
        pager(view, page, total),
        _link_form(view),
    )


def _link_form(view: View) -> Html:
    """Two accounts of one person, joined by an organiser (as `me link` lets a member)."""
    _ = view.words._
    fields = [
        tag(
            "label",
            text,
            tag("input", type="text", name=name, required=True, placeholder="platform:id"),
        )
        for name, text in (("first", _("Account")), ("second", _("and account")))
    ]
    return tag(
        "div",
        tag("h3", _("Link two accounts of one person")),
        view.form("members", "link", *fields, submit=_("Link"), label=_("Link two accounts")),
        class_="link-accounts",
    )


async def _by_platform(view: View) -> Html:
    """People per platform, a bar per role: where the community lives, and who leads there
    (counted by the database, so the chart covers everyone, not only the page shown)."""
    counts = (
        await view.session.exec(
            select(Identity.platform, Member.role, func.count())
            .join(Member, col(Member.id) == col(Identity.member_id))
            .where(Member.community_id == view.community.id)
            .group_by(col(Identity.platform), col(Member.role))
        )
    ).all()
    names = sorted({platform for platform, _, _ in counts})
    tally = {(platform, Role(role)): n for platform, role, n in counts}
    _ = view.words._
    series = {_(PEOPLE[r]): [tally.get((p, r), 0) for p in names] for r in Role}
    return bar_chart(
        names, series, title=_("People per platform, by role"), height=180, empty=_(EMPTY)
    )


def _row(view: View, m: Member, platforms: list[str]) -> Html:
    _ = view.words._
    role = Role(m.role)
    choices = tag(
        "select",
        *(
            tag("option", _(ROLES[r]), value=r.label, selected=r is role)
            for r in sorted(Role, reverse=True)
        ),
        name="role",
        aria_label=_("Role for {name}", name=m.display_name),
    )
    form = view.form(
        "members",
        "role",
        tag("input", type="hidden", name="member", value=m.id),
        choices,
        submit=_("Change"),
        label=_("Change the role of {name}", name=m.display_name),
    )
    return tag(
        "tr",
        tag("td", m.display_name, class_="name"),
        tag("td", *(tag("span", p, class_="platform") for p in platforms), class_="platforms"),
        tag("td", _(ROLES[role]), class_=f"role role-{role.label}"),
        tag("td", form, class_="change"),
        data_member=m.id,
    )


async def change(view: View, form: Mapping[str, str]) -> None:
    """The role form: the same rule and audit entry as the `role` command."""
    raw_id, raw_role = form.get("member", ""), form.get("role", "")
    member_id = row_id(raw_id)
    target = await view.session.get(Member, member_id) if member_id is not None else None
    if target is None or target.community_id != view.community.id:
        raise UserInputError(view.words._("That member is not in this community."))
    try:
        role = Role.parse(raw_role)
    except KeyError:
        raise UserInputError(
            view.words._(
                "`{role}` is not a role. The roles are member, catalyst and organiser.",
                role=raw_role[:30],
            )
        ) from None
    await change_role(view.scope, view.community, view.organiser, target, role, via="dashboard")


async def _identity(view: View, ref: str) -> Identity:
    platform, _, user = ref.strip().partition(":")
    found = (
        await view.session.exec(
            select(Identity).where(Identity.platform == platform, Identity.external_id == user)
        )
    ).first()
    if found is None:
        raise UserInputError(
            view.words._(
                "Nobody here has the account `{account}`. Write it as platform:id.",
                account=ref[:80],
            )
        )
    return found


async def link(view: View, form: Mapping[str, str]) -> None:
    """The link form: the same merge and audit entry as `me link`."""
    first = await _identity(view, form.get("first", ""))
    second = await _identity(view, form.get("second", ""))
    a = await view.session.get(Member, first.member_id)
    b = await view.session.get(Member, second.member_id)
    if a is None or b is None or a.community_id != view.community.id:
        raise UserInputError(view.words._("Those accounts are not in this community."))
    if a.id == b.id:
        raise UserInputError(view.words._("Those accounts are one member already."))
    keep, gone = sorted((a, b), key=lambda m: m.id or 0)
    await view.scope.audit(
        view.community,
        view.organiser,
        "member.link",
        member_id=keep.id,
        merged=gone.id,
        via="dashboard",
    )
    await merge_members(view.scope, keep, gone)


section = Section("members", N_("Members"), render, forms={"role": change, "link": link})
