"""The chat page and the dashboard in a real browser: Debian's Chromium driven by Playwright.

The bot runs in-process on a temporary data directory; every request the browser makes to
anywhere but the bot is blocked and fails the test, so the pages provably load nothing from
the internet. Screenshots at desktop and phone size go to `artifacts/` for a person to look at.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    Page,
    Route,
    async_playwright,
    expect,
)
from sqlmodel import select

from adapters.contract import Button, ButtonPressed, OpenSubSpace
from bot.app import Running, running
from bot.config import parse_config
from bot.context import Context
from bot.dashboard.auth import COOKIE, open_session
from bot.grammar import CommandSpec, Invocation
from bot.models import Identity
from bot.router import Router
from bot.routers import ROUTERS
from tests.conftest import IN_CI

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("chromium")]

CHROMIUM = Path(os.environ.get("CB_CHROMIUM", "/usr/bin/chromium"))
"""Debian's Chromium; `CB_CHROMIUM` names another (the test of a missing one uses it)."""
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
WAIT = 10_000  # ms: how long an expectation waits for the page to catch up

expect.set_options(timeout=WAIT)


@pytest.fixture
def chromium() -> Path:
    """The browser, checked before anything starts: without it each test skips, or in CI
    fails with the reason; the rest of the suite still runs and reports."""
    if not CHROMIUM.exists():
        reason = (
            f"Chromium is not installed at {CHROMIUM}; install it with "
            "`apt-get install chromium` (.ci/run does this when run as root)"
        )
        if IN_CI:
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return CHROMIUM


async def poll(ctx: Context, inv: Invocation) -> None:
    """A command offering buttons, so the page's buttons are tried end to end."""
    await ctx.reply(
        "Tea or coffee?",
        buttons=(Button("drink", "tea", "Tea"), Button("drink", "coffee", "Coffee")),
    )


async def drink(ctx: Context, event: ButtonPressed) -> None:
    await ctx.reply(f"{ctx.member.display_name} chose {event.value}.")


async def group(ctx: Context, inv: Invocation) -> None:
    """Opens a private room for the caller, as a breakout does for its groups."""
    await ctx.perform(
        OpenSubSpace(
            key=f"group:{ctx.event.event_id}",
            parent=ctx.event.place,
            name="Tea group",
            members=(ctx.event.actor.user_id,),
        ),
        ctx.platform,
    )


TEST_ROUTER = Router(
    name="poll",
    commands=[
        CommandSpec(("poll",), "poll", "ask a question with buttons", poll),
        CommandSpec(("group",), "group", "open a room for you", group),
    ],
    buttons={"drink": drink},
)


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[Running]:
    config = parse_config(
        {"community": {"organisers": ["web:ada"]}, "storage": {"data_dir": str(tmp_path)}},
        {},
        tmp_path,
    )
    async with running(config, port=0, routers=[*ROUTERS, TEST_ROUTER]) as run:
        yield run


@pytest.fixture
def base(bot: Running) -> str:
    assert bot.web is not None
    return f"http://127.0.0.1:{bot.web.port}"


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        await launched.close()


Opener = Callable[..., Awaitable[BrowserContext]]


@pytest.fixture
async def contexts(browser: Browser) -> AsyncIterator[Opener]:
    """Opens browser contexts (one per person) that may reach only the bot on loopback."""
    opened: list[BrowserContext] = []
    outside: list[str] = []

    async def only_loopback(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            await route.continue_()
        else:
            outside.append(route.request.url)
            await route.abort()

    async def open_context(**options: Any) -> BrowserContext:
        ctx = await browser.new_context(**{"viewport": DESKTOP, **options})
        await ctx.route("**/*", only_loopback)
        opened.append(ctx)
        return ctx

    yield open_context
    for ctx in opened:
        await ctx.close()
    assert outside == [], "the pages tried to load something from outside"


async def join_as(contexts: Opener, base: str, name: str, **options: Any) -> Page:
    page = await (await contexts(**options)).new_page()
    await page.goto(base + "/")
    await page.get_by_label("Pick a name to chat as").fill(name)
    await page.get_by_label("Pick a name to chat as").press("Enter")
    await expect(page.locator("#room-title")).to_have_text("# main")
    return page


async def send(page: Page, text: str) -> None:
    box = page.get_by_label("Message", exact=True)
    await box.fill(text)
    await box.press("Enter")
    await expect(box).to_have_value("")


def message(page: Page, text: str) -> Any:
    return page.locator("#messages .msg", has=page.locator(".text", has_text=text)).last


async def shoot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


async def test_two_people_see_each_other_live_with_threads_and_reactions(
    contexts: Opener, base: str
) -> None:
    ada = await join_as(contexts, base, "ada")
    bob = await join_as(contexts, base, "bob")
    await send(ada, "Good morning, everyone!")
    await expect(message(bob, "Good morning, everyone!")).to_be_visible()
    await send(bob, "Morning Ada")
    await expect(message(ada, "Morning Ada").locator(".author")).to_have_text("bob")

    await (
        message(bob, "Good morning, everyone!")
        .get_by_role("button", name=re.compile("Reply in thread"))
        .click()
    )
    await expect(bob.locator("#thread-bar")).to_be_visible()
    await send(bob, "A reply in the thread")
    root = message(ada, "Good morning, everyone!")
    await expect(root.locator(".thread .msg .text")).to_have_text(["A reply in the thread"])
    await expect(root.get_by_role("button", name=re.compile("Reply in thread"))).to_have_text(
        "Reply in thread (1)"
    )
    await ada.keyboard.press("Escape")
    react = message(ada, "Morning Ada").get_by_role("button", name=re.compile(r"Add \+1"))
    await react.click()
    await expect(react).to_have_attribute("aria-pressed", "true")
    await ada.set_viewport_size(DESKTOP)
    await shoot(ada, "chat-desktop")


async def test_help_is_answered_in_the_direct_conversation(contexts: Opener, base: str) -> None:
    ada = await join_as(contexts, base, "ada")
    await send(ada, "/help")
    direct = ada.get_by_role("button", name=re.compile(r"community-bot \(direct\)"))
    await expect(direct).to_contain_text("1 new")
    await direct.focus()  # keyboard only: the rooms are buttons, Enter opens one
    await ada.keyboard.press("Enter")
    await expect(ada.locator("#room-title")).to_have_text("community-bot (direct)")
    await expect(message(ada, "What you can do")).to_contain_text("me tz <zone>")
    await expect(direct).not_to_contain_text("new")
    await expect(ada.get_by_label("Message", exact=True)).to_be_focused()
    await shoot(ada, "chat-direct-desktop")


async def test_the_bots_buttons_can_be_pressed(contexts: Opener, base: str) -> None:
    bob = await join_as(contexts, base, "bob")
    await send(bob, "/poll")
    question = message(bob, "Tea or coffee?")
    await question.get_by_role("button", name="Coffee").click()
    await expect(message(bob, "chose coffee")).to_contain_text("bob chose coffee.")


async def test_a_room_the_bot_opens_for_you_appears_with_its_title(
    contexts: Opener, base: str
) -> None:
    bob = await join_as(contexts, base, "bob")
    await send(bob, "/group")
    room = bob.get_by_role("button", name="# Tea group")
    await room.click()
    await expect(bob.locator("#room-title")).to_have_text("# Tea group")
    await send(bob, "hello, group")
    await expect(message(bob, "hello, group")).to_be_visible()
    carol = await join_as(contexts, base, "carol")
    await expect(carol.get_by_role("button", name="# main")).to_be_visible()
    await expect(carol.get_by_role("button", name="# Tea group")).to_have_count(0)


async def test_rooms_can_be_joined_and_a_reload_keeps_name_and_room(
    contexts: Opener, base: str
) -> None:
    ada = await join_as(contexts, base, "ada")
    await ada.get_by_label("Join or create a room").fill("book-club")
    await ada.get_by_label("Join or create a room").press("Enter")
    await expect(ada.locator("#room-title")).to_have_text("# book-club")
    await send(ada, "first post")
    bob = await join_as(contexts, base, "bob")
    await bob.reload()
    await bob.get_by_role("button", name="# book-club").click()
    await expect(message(bob, "first post")).to_be_visible()
    await bob.reload()
    await expect(bob.locator("#room-title")).to_have_text("# book-club")
    await expect(bob.locator("#me")).to_have_text("You are bob")


async def test_the_page_reads_on_a_phone(contexts: Opener, base: str) -> None:
    ada = await join_as(contexts, base, "ada", viewport=PHONE, is_mobile=True, has_touch=True)
    await send(ada, "Typed on a phone, with a fairly long line that has to wrap neatly.")
    await send(ada, "/help")
    width = await ada.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
    await shoot(ada, "chat-phone")
    toggle = ada.get_by_role("button", name=re.compile("^Rooms"))
    await expect(toggle).to_have_text("Rooms (1 new)")
    await toggle.click()
    await expect(toggle).to_have_attribute("aria-expanded", "true")
    await shoot(ada, "chat-phone-rooms")
    await expect(ada.get_by_role("button", name=re.compile(r"community-bot"))).to_be_focused()
    await ada.keyboard.press("Escape")
    await expect(ada.locator("#sidebar")).to_be_hidden()
    await expect(toggle).to_be_focused()
    await toggle.press("Enter")
    await ada.get_by_role("button", name=re.compile(r"community-bot \(direct\)")).click()
    await expect(ada.locator("#sidebar")).to_be_hidden()
    await expect(message(ada, "What you can do")).to_be_visible()
    await expect(toggle).to_have_text("Rooms")


async def test_token_links_sign_people_in(browser: Browser, tmp_path: Path) -> None:
    config = parse_config(
        {
            "storage": {"data_dir": str(tmp_path)},
            "web": {"auth": "token", "users": [{"name": "ada", "token_env": "ADA_TOKEN"}]},
        },
        {"ADA_TOKEN": "t-ada-secret"},
        tmp_path,
    )
    async with running(config, port=0) as run:
        assert run.web is not None
        base = f"http://127.0.0.1:{run.web.port}"
        ctx = await browser.new_context(viewport=DESKTOP)
        page = await ctx.new_page()
        await page.goto(base + "/")
        await expect(page.get_by_role("alert")).to_contain_text("needs your personal link")
        await page.goto(base + "/?token=t-ada-secret")
        await expect(page.locator("#me")).to_have_text("You are ada")
        await expect(page).not_to_have_url(re.compile("token"))
        await send(page, "/help")
        await page.get_by_role("button", name=re.compile(r"community-bot \(direct\)")).click()
        await expect(message(page, "What you can do")).to_be_visible()
        await ctx.close()


async def dashboard_link(page: Page) -> str:
    await page.get_by_role("button", name=re.compile(r"community-bot \(direct\)")).click()
    await send(page, "/me dashboard")
    link = message(page, "Your dashboard link").get_by_role("link")
    href = await link.get_attribute("href")
    assert href and "/dashboard/login?token=" in href
    return href


async def test_an_organiser_opens_the_dashboard_once(
    contexts: Opener, base: str, bot: Running
) -> None:
    bob = await join_as(contexts, base, "bob")
    await send(bob, "hello")
    ada = await join_as(contexts, base, "ada")
    href = await dashboard_link(ada)
    dash = await ada.context.new_page()
    await dash.goto(href)
    await dash.get_by_role("button", name="Open the dashboard as ada").click()
    await expect(dash).to_have_url(base + "/dashboard")
    members = dash.get_by_role("region", name="Members")
    await expect(members).to_contain_text("web:bob")
    await expect(members).to_contain_text("web:ada")
    await expect(members.get_by_role("img", name="People per platform, by role")).to_be_visible()
    await dash.get_by_label("Role for bob").select_option("catalyst")
    await dash.get_by_role("form", name="Change the role of bob").get_by_role("button").click()
    await expect(members.locator("tr", has_text="web:bob").locator(".role")).to_have_text(
        "catalyst"
    )
    await expect(dash.get_by_role("region", name="Audit log")).to_contain_text("role.change")
    await shoot(dash, "dashboard-desktop")
    await dash.set_viewport_size(PHONE)
    await shoot(dash, "dashboard-phone")
    assert await dash.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    no_csrf = await dash.request.post(
        base + "/dashboard/members/role", form={"member": "1", "role": "member"}
    )
    assert (no_csrf.status, await no_csrf.text()) == (403, "Forbidden")

    again = await (await contexts()).new_page()
    response = await again.goto(href)
    assert response is not None and response.status == 403
    assert await again.locator("body").inner_text() == "Forbidden"


async def test_members_and_forged_cookies_are_refused(
    contexts: Opener, base: str, bot: Running
) -> None:
    bob = await join_as(contexts, base, "bob")
    await bob.get_by_role("button", name=re.compile(r"community-bot \(direct\)")).click()
    await send(bob, "/me dashboard")
    await expect(message(bob, "needs the organiser role")).to_contain_text("you are a member")

    async with bot.bot.db.session() as s:
        bob_id = (
            await s.exec(select(Identity.member_id).where(Identity.external_id == "bob"))
        ).one()
        genuine_but_a_member = await open_session(s, bob_id, bot.bot.clock.now())
    host = urlsplit(base).hostname
    for cookie in (genuine_but_a_member, "1.9999999999.forged.abc"):
        ctx = await contexts()
        await ctx.add_cookies([{"name": COOKIE, "value": cookie, "domain": host, "path": "/"}])
        page = await ctx.new_page()
        response = await page.goto(base + "/dashboard")
        assert response is not None and response.status == 403
        assert await page.locator("body").inner_text() == "Forbidden"


async def test_a_checkin_runs_live_in_two_pages_and_shows_on_the_dashboard(
    contexts: Opener, base: str
) -> None:
    prompt = "What made you smile this week?"
    ada = await join_as(contexts, base, "ada")
    bob = await join_as(contexts, base, "bob", viewport=PHONE, is_mobile=True, has_touch=True)
    await send(ada, f'/checkin open "{prompt}"')
    post = message(bob, f"Check-in: {prompt}")
    await expect(post).to_be_visible()
    await post.get_by_role("button", name=re.compile("Reply in thread")).click()
    await send(bob, "A long walk by the river")
    await bob.keyboard.press("Escape")
    await expect(message(ada, f"Check-in: {prompt}").locator(".thread .msg .text")).to_contain_text(
        ["A long walk by the river"]
    )
    await send(ada, "/checkin Tea with the new members")
    await send(ada, "/checkin close")
    for page in (ada, bob):  # both pages get the summary live, without a reload
        summary = message(page, "Check-in closed")
        await expect(summary).to_contain_text(f"Check-in closed: {prompt}")
        await expect(summary).to_contain_text("2 answers, 0 passes")
        await expect(summary).to_contain_text("bob: A long walk by the river")
        await expect(summary).to_contain_text("ada: Tea with the new members")
    await summary.scroll_into_view_if_needed()
    await shoot(bob, "chat-checkin-phone")
    await message(ada, "Check-in closed").scroll_into_view_if_needed()
    await shoot(ada, "chat-checkin-desktop")

    href = await dashboard_link(ada)
    dash = await ada.context.new_page()
    await dash.goto(href)
    await dash.get_by_role("button", name="Open the dashboard as ada").click()
    await expect(dash).to_have_url(base + "/dashboard")
    checkins = dash.get_by_role("region", name="Check-ins")
    round_one = checkins.get_by_role("article", name=f"Round 1: {prompt}")
    await expect(round_one).to_contain_text("2 answered, 0 passed")
    await expect(round_one.locator(".answers li")).to_have_text(  # each with its platform
        ["bob: A long walk by the river web", "ada: Tea with the new members web"]
    )
    per_round = checkins.get_by_role("img", name="Answers and passes per round")
    await expect(per_round).to_be_visible()
    await expect(per_round.locator("rect.bar").first).to_have_attribute("data-value", "2")
    await expect(checkins.get_by_role("img", name="Members reached per platform")).to_be_visible()
    async with dash.expect_download() as downloading:
        await round_one.get_by_role("link", name="Export round 1 as CSV").click()
    download = await downloading.value
    assert download.suggested_filename == "checkin-1.csv"
    csv = await asyncio.to_thread((await download.path()).read_text)
    assert "bob,A long walk by the river,no" in csv
    await dash.goto(base + "/dashboard#checkins")
    await shoot(dash, "dashboard-checkins-desktop")
    await dash.set_viewport_size(PHONE)
    await checkins.scroll_into_view_if_needed()
    await shoot(dash, "dashboard-checkins-phone")
    assert await dash.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


async def test_the_dashboard_shows_events_and_delivered_nudges(contexts: Opener, base: str) -> None:
    bob = await join_as(contexts, base, "bob")
    await send(bob, "hello")
    ada = await join_as(contexts, base, "ada")
    await send(ada, '/event add "Community call" tomorrow 18:00 --every weekly --remind 1h')
    await expect(message(ada, "Event 1 added")).to_be_visible(timeout=WAIT)
    await send(ada, '/nudge "Welcome, say hello in #main" --at now')
    await expect(message(ada, "Nudge 1 goes to all members")).to_be_visible(timeout=WAIT)
    href = await dashboard_link(ada)
    dash = await ada.context.new_page()
    await dash.goto(href)
    await dash.get_by_role("button", name="Open the dashboard as ada").click()
    events = dash.get_by_role("region", name="Events and nudges")
    await expect(events.locator("table.events")).to_contain_text("Community call")
    await expect(events.locator("table.events")).to_contain_text("reminders 1 hour before")
    tally = events.get_by_role("list", name="Nudges per delivery state")
    async with asyncio.timeout(WAIT / 1000):  # the two DMs may still be on their way
        while "sent 2" not in await tally.inner_text():
            await dash.reload()
    await events.scroll_into_view_if_needed()
    await shoot(dash, "dashboard-events-desktop")


async def test_an_anonymous_answer_is_given_in_a_dialog_never_posted(
    contexts: Opener, base: str
) -> None:
    prompt = "What is hard right now?"
    ada = await join_as(contexts, base, "ada")
    bob = await join_as(contexts, base, "bob")
    await send(ada, f'/checkin open "{prompt}" --anonymous')
    post = message(bob, f"Check-in: {prompt}")
    answer = post.get_by_role("button", name="Answer", exact=True)
    await expect(answer).to_have_attribute("aria-haspopup", "dialog")
    await answer.focus()  # keyboard only
    await bob.keyboard.press("Enter")
    dialog = bob.get_by_role("dialog", name="Check-in")
    await expect(dialog).to_be_visible()
    field = dialog.get_by_label("Your answer")
    await expect(field).to_be_focused()
    await field.fill("Sleeping, honestly")
    await shoot(bob, "chat-anonymous-form-desktop")
    await dialog.get_by_role("button", name="Send").click()
    await expect(dialog).to_be_hidden()
    await expect(answer).to_be_focused()  # back where the person was
    direct = bob.get_by_role("button", name=re.compile(r"community-bot \(direct\)"))
    await expect(direct).to_contain_text("1 new")
    await send(ada, "/checkin close")
    summary = message(bob, "Check-in closed")
    await expect(summary).to_contain_text("• Sleeping, honestly")
    await expect(bob.locator("#messages .msg .text", has_text="Sleeping, honestly")).to_have_count(
        1
    )
