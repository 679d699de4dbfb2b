"""The members section: who is in the community, on which platforms, with which role."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from sqlmodel import col, select

from bot.dashboard.html import Html, join, tag
from bot.dashboard.section import Section, View
from bot.dashboard.svg import bar_chart
from bot.errors import UserInputError
from bot.members import change_role
from bot.merge import merge_members
from bot.models import Identity, Member, Role


async def render(view: View) -> Html:
    members = (
        await view.session.exec(
            select(Member)
            .where(Member.community_id == view.community.id)
            .order_by(col(Member.display_name), col(Member.id))
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
    if not members:
        return tag("p", "Nobody has talked to the bot yet.")
    chart = _by_platform(members, identities)
    rows = [_row(view, m, sorted(platforms[m.id or 0])) for m in members]
    head = tag("tr", *(tag("th", h, scope="col") for h in ("Name", "Platforms", "Role", "Change")))
    table = tag(
        "div",
        tag("table", tag("thead", head), tag("tbody", *rows), class_="members"),
        class_="table-wrap",
    )
    return join(tag("div", chart, class_="chart-wrap"), table, _link_form(view))


def _link_form(view: View) -> Html:
    """Two accounts of one person, joined by an organiser (as `me link` lets a member)."""
    fields = [
        tag(
            "label",
            text,
            tag("input", type="text", name=name, required=True, placeholder="platform:id"),
        )
        for name, text in (("first", "Account"), ("second", "and account"))
    ]
    return tag(
        "div",
        tag("h3", "Link two accounts of one person"),
        view.form("members", "link", *fields, submit="Link", label="Link two accounts"),
        class_="link-accounts",
    )


def _by_platform(members: Sequence[Member], identities: Sequence[Identity]) -> Html:
    """People per platform, a bar per role: where the community lives, and who leads there."""
    role_of = {m.id: Role(m.role) for m in members}
    names = sorted({i.platform for i in identities})
    series = {
        f"{r.label}s": [
            sum(1 for i in identities if i.platform == p and role_of[i.member_id] is r)
            for p in names
        ]
        for r in Role
    }
    return bar_chart(names, series, title="People per platform, by role", height=180)


def _row(view: View, m: Member, platforms: list[str]) -> Html:
    role = Role(m.role)
    choices = tag(
        "select",
        *(
            tag("option", r.label, value=r.label, selected=r is role)
            for r in sorted(Role, reverse=True)
        ),
        name="role",
        aria_label=f"Role for {m.display_name}",
    )
    form = view.form(
        "members",
        "role",
        tag("input", type="hidden", name="member", value=m.id),
        choices,
        submit="Change",
        label=f"Change the role of {m.display_name}",
    )
    return tag(
        "tr",
        tag("td", m.display_name, class_="name"),
        tag("td", *(tag("span", p, class_="platform") for p in platforms), class_="platforms"),
        tag("td", role.label, class_=f"role role-{role.label}"),
        tag("td", form, class_="change"),
        data_member=m.id,
    )


async def change(view: View, form: Mapping[str, str]) -> None:
    """The role form: the same rule and audit entry as the `role` command."""
    raw_id, raw_role = form.get("member", ""), form.get("role", "")
    target = await view.session.get(Member, int(raw_id)) if raw_id.isdigit() else None
    if target is None or target.community_id != view.community.id:
        raise UserInputError("That member is not in this community.")
    try:
        role = Role.parse(raw_role)
    except KeyError:
        raise UserInputError(
            f"`{raw_role[:30]}` is not a role; roles are member, catalyst and organiser."
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
        raise UserInputError(f"Nobody here has the account `{ref[:80]}`; write it as platform:id.")
    return found


async def link(view: View, form: Mapping[str, str]) -> None:
    """The link form: the same merge and audit entry as `me link`."""
    first = await _identity(view, form.get("first", ""))
    second = await _identity(view, form.get("second", ""))
    a = await view.session.get(Member, first.member_id)
    b = await view.session.get(Member, second.member_id)
    if a is None or b is None or a.community_id != view.community.id:
        raise UserInputError("Those accounts are not in this community.")
    if a.id == b.id:
        raise UserInputError("Those accounts are one member already.")
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


section = Section("members", "Members", render, forms={"role": change, "link": link})
