"""The dashboard and its sign-in page for everyone: axe-core finds nothing serious at desktop
and phone sizes, the keyboard reaches every control with a visible focus, and an organiser
whose browser asks for Spanish reads it in Spanish."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from bot.app import Running
from tests.test_browser import (  # the browser and its contexts, shared with the other tests
    DESKTOP,
    PHONE,
    Opener,
    base,
    bot,
    browser,
    chromium,
    contexts,
    join_as,
    message,
    send,
)
from tests.test_chat_page_access import FOCUSED, serious_violations

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("chromium")]
_FIXTURES = (base, bot, browser, chromium, contexts)
"""Imported so pytest finds them here too."""


async def a_busy_community(contexts: Opener, base: str) -> Page:
    """Ada, an organiser, with a member, a closed check-in, an event and a nudge."""
    bob = await join_as(contexts, base, "bob")
    await send(bob, "hello")
    ada = await join_as(contexts, base, "ada")
    await send(ada, '/checkin open "What made you smile?"')
    await expect(message(ada, "What made you smile?")).to_be_visible()
    await send(ada, "/checkin A walk")
    await send(ada, "/checkin close")
    await expect(message(ada, "Check-in closed")).to_be_visible()
    await send(ada, '/event add "Community call" tomorrow 18:00 --every weekly --remind 1h')
    await expect(message(ada, "Event 1 added")).to_be_visible()
    await send(ada, '/nudge "Say hello in #main" --at now')
    await expect(message(ada, "Nudge 1")).to_be_visible()
    return ada


async def link_for(page: Page) -> str:
    await page.get_by_role("button", name=re.compile(r"community-bot \(direct\)")).click()
    await send(page, "/me dashboard")
    href = await message(page, "Your dashboard link").get_by_role("link").get_attribute("href")
    assert href
    return href


async def test_axe_finds_nothing_serious_on_the_sign_in_page_and_the_dashboard(
    contexts: Opener, base: str, bot: Running
) -> None:
    ada = await a_busy_community(contexts, base)
    found: dict[str, list[str]] = {}
    for size, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        dash = await (await contexts(viewport=viewport)).new_page()
        await dash.goto(await link_for(ada))
        found[f"sign-in {size}"] = await serious_violations(dash)
        await dash.get_by_role("button", name="Open the dashboard as ada").click()
        await expect(dash.get_by_role("region", name="Check-ins")).to_contain_text("A walk")
        found[f"dashboard {size}"] = await serious_violations(dash)
        await dash.get_by_role("button", name="Sign out").click()
        await expect(dash.get_by_role("heading", name="You are signed out.")).to_be_visible()
        found[f"signed out {size}"] = await serious_violations(dash)
    assert {k: v for k, v in found.items() if v} == {}


async def test_the_keyboard_reaches_every_dashboard_control_with_a_visible_focus(
    contexts: Opener, base: str
) -> None:
    ada = await a_busy_community(contexts, base)
    dash = await ada.context.new_page()
    await dash.goto(await link_for(ada))
    await dash.keyboard.press("Tab")
    await dash.keyboard.press("Enter")  # the one button: open the dashboard
    await expect(dash).to_have_url(base + "/dashboard")
    seen: list[str] = []
    for _ in range(200):
        await dash.keyboard.press("Tab")
        what, style, width = await dash.evaluate(FOCUSED)
        if what.endswith("again"):
            break
        if what.startswith("BODY"):
            continue
        seen.append(what)
        assert style != "none" and width >= 2, f"{what} is focused without a visible outline"
    assert any(w.startswith("SELECT") for w in seen) and any(w.startswith("SUMMARY") for w in seen)


async def test_an_organiser_whose_browser_asks_for_spanish_reads_the_dashboard_in_spanish(
    contexts: Opener, base: str
) -> None:
    ada = await a_busy_community(contexts, base)
    href = await link_for(ada)
    dash = await (
        await contexts(extra_http_headers={"Accept-Language": "es-MX,es;q=0.9"})
    ).new_page()
    await dash.goto(href)
    await expect(dash.locator("html")).to_have_attribute("lang", "es")
    await dash.get_by_role("button", name="Abrir el panel como ada").click()
    await expect(dash.get_by_role("heading", name="Miembros", exact=True)).to_be_visible()
    checkins = dash.get_by_role("region", name="Rondas de check-in")
    chart = checkins.get_by_role("img", name="Respuestas y pases por ronda")
    await expect(chart).to_have_accessible_description(re.compile("Respondieron 1, Pasaron 0"))
    await expect(checkins).to_contain_text("1 respondieron, 0 pasaron")
    await expect(dash.get_by_role("region", name="Eventos y avisos")).to_contain_text(
        "Próximos eventos"
    )
    await expect(dash.get_by_role("button", name="Salir")).to_be_visible()
    await expect(dash.locator("html")).to_have_attribute("dir", "ltr")


async def test_the_language_picked_on_the_dashboard_stays_picked(
    contexts: Opener, base: str
) -> None:
    ada = await join_as(contexts, base, "ada")
    dash = await ada.context.new_page()
    await dash.goto(await link_for(ada))
    await dash.get_by_role("button", name="Open the dashboard as ada").click()
    languages = dash.get_by_role("navigation", name="Language")
    await expect(languages.get_by_role("link", name="English")).to_have_attribute(
        "aria-current", "true"
    )
    await languages.get_by_role("link", name="Kiswahili").click()
    await expect(dash.locator("html")).to_have_attribute("lang", "sw")
    await expect(dash.get_by_role("heading", name="Wanachama", exact=True)).to_be_visible()
    await dash.goto(base + "/dashboard")  # no choice in the address: the cookie keeps it
    await expect(dash.get_by_role("button", name="Toka")).to_be_visible()
    kiswahili = dash.get_by_role("navigation", name="Lugha").get_by_role("link", name="Kiswahili")
    await expect(kiswahili).to_have_attribute("aria-current", "true")
