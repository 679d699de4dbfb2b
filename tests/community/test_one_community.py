"""One community on the web chat and another platform at once, through the real process:
linked identities, one round across both, and a nudge that follows `me reach`."""

from __future__ import annotations

import asyncio

from tests.community.conftest import DEADLINE_S, Community

PROMPT = "What are you bringing to this week?"


async def link(c: Community, name: str) -> None:
    """`me link` on the web chat, `me link <code>` on the other platform."""
    code = await c.web_link_code(name)
    await c.other.command(name, f"me link {code}")


async def test_two_members_link_their_accounts_and_me_lists_both(community_on: Community) -> None:
    c = community_on
    other = c.other
    for name in ("bob", "carol"):
        await link(c, name)
        assert "Linked! You are now one member on" in await other.told(name, "Linked")
        await other.command(name, "me")
        accounts = await other.told(name, "Your accounts")
        mine = {f"web:{name}", f"{other.platform}:{other.user_id(name)}"}
        assert all(a in accounts for a in mine), accounts
        await c.web_says(name, "/me")
        on_web = str((await c.web_told(name, "Your accounts"))["text"])
        assert all(a in on_web for a in mine), on_web
    assert other.user_id("bob") not in on_web, "carol's accounts are hers alone"


async def test_one_round_spans_both_platforms_and_its_summary_reaches_both(
    community_on: Community,
) -> None:
    c = community_on
    other = c.other
    await c.web_says("ada", f'/checkin open "{PROMPT}" --in community')
    web_post = await c.web_posted(f"Check-in: {PROMPT}")
    _, thread = await other.posted(f"Check-in: {PROMPT}")

    await c.web_says("bob", "Fresh eyes", thread=str(web_post["id"]))
    await c.web_told("bob", "your answer is in")
    await other.say("carol", "A long-awaited demo", thread=thread)
    await other.told("carol", "your answer is in")
    await other.command("dave", "checkin pass")
    await other.told("dave", "Pass noted")

    await c.web_says("ada", "/checkin close")
    on_web = str((await c.web_posted("Check-in closed"))["text"])
    there, _ = await other.posted("Check-in closed")
    for summary in (on_web, there):
        assert "2 answers, 1 pass" in summary
        assert "Fresh eyes" in summary and "A long-awaited demo" in summary
    assert on_web.count("Check-in closed") == 1
    messages = await c.web.messages("main", "ada")
    assert len([m for m in messages if "Check-in closed" in m["text"]]) == 1, "one summary"


async def linked_on_web(c: Community, name: str, account: str) -> None:
    """Ask `me` on the web chat until it lists `account` (the link is made when the other
    platform's message arrives, which the web chat does not wait for)."""
    async with asyncio.timeout(DEADLINE_S):
        while True:
            seen = await c.web.messages(f"@{name}", name)
            await c.web_says(name, "/me")
            after = seen[-1]["id"] if seen else "0"
            if account in str((await c.web_told(name, "Your accounts", after=after))["text"]):
                return


async def test_a_nudge_follows_me_reach_and_falls_back_when_the_platform_refuses(
    community_on: Community,
) -> None:
    c = community_on
    side = c.other
    there = side.platform
    await link(c, "carol")
    await side.told("carol", "Linked")
    await side.command("carol", f"me reach {there}")
    await side.told("carol", f"now reach you on {there}")

    refusal = await side.refuse_dms("bob")
    await link(c, "bob")  # any answer by DM there is refused; the web chat shows the link
    await linked_on_web(c, "bob", f"{there}:{side.user_id('bob')}")
    await c.web_says("bob", f"/me reach {there}")
    await c.web_told("bob", f"now reach you on {there}")

    await c.web_says("ada", '/nudge "Bring a mug on Thursday" --at now')
    await side.told("carol", "Bring a mug on Thursday")
    await c.web_told("bob", "Bring a mug on Thursday")
    assert not [m for m in await c.web.messages("@carol", "carol") if "mug" in m["text"]]
    log = "".join(c.log)
    assert refusal in log and "moved to web" in log, f"{there} refused bob for good"
