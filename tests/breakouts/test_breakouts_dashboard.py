"""The breakouts section of the dashboard shows each group's members and report-back."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.breakouts import dashboard
from bot.context import Scope
from bot.dashboard.section import View
from bot.models import Community, Identity, Member
from bot.testing import Harness
from tests.breakouts.test_breakouts import gather, rooms


async def render(h: Harness) -> str:
    async with h.bot.db.session() as s:
        community = await s.get(Community, h.bot.community.id)
        ident = (await s.exec(select(Identity).where(Identity.external_id == "ada"))).one()
        ada = await s.get(Member, ident.member_id)
        assert community is not None and ada is not None
        view = View(Scope(bot=h.bot, session=s, now=h.clock.now()), community, ada, "csrf")
        return str(await dashboard.render(view))


async def test_no_breakouts_yet_says_how_to_start_one(harness: Harness) -> None:
    await harness.say("ada", "help")
    assert "No breakouts yet" in await render(harness)


async def test_groups_members_and_reports_are_shown(harness: Harness) -> None:
    h = harness
    await gather(h, 'breakout 2 groups "What <matters> here?" --minutes 4')
    opened = rooms(h)
    first = sorted(opened)[0]
    await h.feed(h.message(opened[first][0], "report we & they agree", space=first))
    await h.advance(timedelta(minutes=8))
    html = await render(h)
    assert "What &lt;matters&gt; here?" in html
    assert "we &amp; they agree" in html
    assert html.count("no report") == 1
    for members in opened.values():
        assert ", ".join(sorted(m.capitalize() for m in members)) in html
