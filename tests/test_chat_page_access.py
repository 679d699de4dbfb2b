"""The chat page for everyone: in the reader's language, by keyboard, to a screen reader.

axe-core (through Playwright) checks the page at desktop and phone sizes; a browser asking
for Swahili finds no English words of ours left; phone screenshots in each language go to
`artifacts/chat-<lang>-phone.png`.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.async_playwright import Axe
from babel.messages.pofile import read_po
from playwright.async_api import Page, expect

from adapters.webchat import page as chat_page
from bot import i18n
from bot.app import Running, running
from bot.config import parse_config
from bot.context import Context
from bot.grammar import CommandSpec, Invocation
from bot.router import Router
from bot.routers import ROUTERS
from tests.test_browser import (  # the browser and its contexts, shared with the other tests
    ARTIFACTS,
    DESKTOP,
    PHONE,
    Opener,
    base,
    browser,
    chromium,
    contexts,
    join_as,
    message,
    send,
)

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("chromium")]
_FIXTURES = (base, browser, chromium, contexts)
"""Imported so pytest finds them here too."""

AXE = Axe()
STYLED = "Answer with `checkin`, *today* or **now**: see https://example.org/a"
MEMBER = "my `code` *stays* <b>plain</b>"


SHARE = "Say what your group wants to share: `report <text>`."
"""A catalog message with markup: the screenshots show the bot in the reader's language."""


async def styled(ctx: Context, inv: Invocation) -> None:
    await ctx.reply(STYLED)


async def share(ctx: Context, inv: Invocation) -> None:
    await ctx.reply(ctx._(SHARE))


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[Running]:
    config = parse_config(
        {"community": {"organisers": ["web:ada"]}, "storage": {"data_dir": str(tmp_path)}},
        {},
        tmp_path,
    )
    extra = Router(
        name="styled",
        commands=[
            CommandSpec(("styled",), "styled", "a reply with markup", styled),
            CommandSpec(("share",), "share", "a reply in the reader's language", share),
        ],
    )
    async with running(config, port=0, routers=[*ROUTERS, extra]) as run:
        yield run


async def serious_violations(page: Page) -> list[str]:
    """What axe-core finds serious or critical on the page once its animations have ended
    (a message still fading in has the contrast of its first frames, not of the page)."""
    await page.evaluate("Promise.all(document.getAnimations().map(a => a.finished))")
    results = await AXE.run(page)
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:5]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


async def sign_in_screen(contexts: Opener, base: str, **options: Any) -> Page:
    page = await (await contexts(**options)).new_page()
    await page.goto(base + "/")
    await expect(page.locator("#name-input")).to_be_visible()
    return page


@pytest.mark.parametrize("size", ["desktop", "phone"])
async def test_axe_finds_nothing_serious_on_the_chat_page(
    contexts: Opener, base: str, size: str
) -> None:
    options: dict[str, Any] = (
        {"viewport": DESKTOP}
        if size == "desktop"
        else {"viewport": PHONE, "is_mobile": True, "has_touch": True}
    )
    found = {"sign-in": await serious_violations(await sign_in_screen(contexts, base, **options))}
    ada = await join_as(contexts, base, "ada", **options)
    await send(ada, "Good morning")
    await send(ada, "/styled")
    await expect(message(ada, "Answer with")).to_be_visible()
    await message(ada, "Good morning").get_by_role("button", name=re.compile("Reply")).click()
    await send(ada, "A reply")
    await send(ada, '/checkin open "How are you?" --anonymous')
    found["chat"] = await serious_violations(ada)
    if size == "phone":
        await ada.get_by_role("button", name=re.compile("^Rooms")).click()
        found["rooms"] = await serious_violations(ada)
        await ada.keyboard.press("Escape")
    post = message(ada, "How are you?")
    await post.get_by_role("button", name="Answer", exact=True).click()
    await expect(ada.get_by_role("dialog")).to_be_visible()
    found["dialog"] = await serious_violations(ada)
    assert {k: v for k, v in found.items() if v} == {}


def english_words() -> tuple[set[str], list[re.Pattern[str]]]:
    """Every word of the English catalog that Swahili does not also use, and each message
    (its parameters as wildcards) whose Swahili differs from it."""
    with (i18n.LOCALE_DIR / "sw" / "LC_MESSAGES" / f"{i18n.DOMAIN}.po").open("rb") as f:
        sw = read_po(f, locale="sw")
    english: set[str] = set()
    swahili: set[str] = set()
    messages = []
    for entry in sw:
        if not entry.id:
            continue
        ids = entry.id if isinstance(entry.id, tuple) else (entry.id,)
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        bare = [re.sub(r"\{\w*\}", " ", s) for s in ids]
        english |= {w.casefold() for s in bare for w in re.findall(r"[^\W\d_]{2,}", s)}
        swahili |= {w.casefold() for s in strings for w in re.findall(r"[^\W\d_]{2,}", s)}
        for i in ids:
            if i not in strings and re.search(r"[^\W\d_]{3,}", re.sub(r"\{\w*\}", "", i)):
                parts = re.split(r"\{\w*\}", i)
                messages.append(re.compile(".+".join(map(re.escape, parts))))
    return english - swahili, messages


SHOWN_TEXT = """() => {
  const shown = (el) => el.checkVisibility({ visibilityProperty: true });
  const out = [document.title];
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    const el = n.parentElement;
    if (!el || el.closest("script, .msg > .text") || !shown(el)) continue;
    if (n.textContent.trim()) out.push(n.textContent.trim());
  }
  for (const el of document.querySelectorAll("[aria-label], [placeholder], [title]")) {
    if (!shown(el)) continue;
    for (const a of ["aria-label", "placeholder", "title"]) {
      if (el.hasAttribute(a)) out.push(el.getAttribute(a));
    }
  }
  return out;
}"""
"""Every text the page shows or reads out, but what people and the bot wrote in messages."""


async def english_left(page: Page, data: set[str]) -> list[str]:
    words, messages = english_words()
    found = []
    for text in await page.evaluate(SHOWN_TEXT):
        if any(m.fullmatch(text) for m in messages):
            found.append(text)
            continue
        rest = text
        for d in data:
            rest = rest.replace(d, " ")
        left = [w for w in re.findall(r"[^\W\d_]{2,}", rest) if w.casefold() in words]
        found += [f"{w!r} in {text!r}" for w in left]
    return found


async def test_a_browser_asking_for_swahili_sees_no_english(contexts: Opener, base: str) -> None:
    options = {"extra_http_headers": {"Accept-Language": "sw-KE,sw;q=0.9"}}
    data = {"amani", "community-bot", "main", "Habari"}
    signin = await sign_in_screen(contexts, base, **options)
    assert await signin.locator("html").get_attribute("lang") == "sw"
    assert await english_left(signin, data) == []

    page = await (await contexts(**options)).new_page()
    await page.goto(base + "/")
    await page.get_by_label("Chagua jina la kutumia kwenye gumzo").fill("amani")
    await page.get_by_label("Chagua jina la kutumia kwenye gumzo").press("Enter")
    box = page.get_by_label("Ujumbe", exact=True)

    async def say(text: str) -> None:
        await box.fill(text)
        await box.press("Enter")
        await expect(box).to_have_value("")  # sent

    await say("Habari")
    await expect(message(page, "Habari")).to_be_visible()
    await message(page, "Habari").get_by_role("button", name=re.compile("^Jibu")).click()
    await say("Habari")
    await box.press("Escape")  # out of the thread
    await expect(page.locator("#thread-bar")).to_be_hidden()
    await say("/help")
    await expect(page.locator(".badge")).to_have_text("1 mpya")
    await expect(page.locator(".thread .msg")).to_have_count(1)
    assert await english_left(page, data) == []
    await page.set_viewport_size(PHONE)
    await expect(page.get_by_role("button", name=re.compile("^Vyumba"))).to_have_text(
        "Vyumba (1 mpya)"
    )
    assert await english_left(page, data) == []


GREETING = {
    "en": "Good morning, everyone!",
    "es": "¡Buenos días a todos!",
    "sw": "Habari za asubuhi, wote!",
}


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
async def test_a_phone_screenshot_of_the_chat_page_in_each_language(
    contexts: Opener, base: str, lang: str
) -> None:
    page = await (
        await contexts(
            viewport=PHONE,
            is_mobile=True,
            has_touch=True,
            extra_http_headers={"Accept-Language": lang},
        )
    ).new_page()
    await page.goto(base + "/")
    words = i18n.words(lang)
    name = page.get_by_label(words._(chat_page.TEXT["pick_name"]))
    await name.fill("amani")
    await name.press("Enter")
    box = page.get_by_label(words._(chat_page.TEXT["message"]), exact=True)
    await box.fill(GREETING[lang])
    await box.press("Enter")
    await expect(message(page, GREETING[lang])).to_be_visible()
    await box.fill("/share")
    await box.press("Enter")
    said = words._(SHARE)
    assert lang == "en" or said != SHARE, "the bot's reply is in the reader's language"
    await expect(message(page, said.split("`")[0].strip())).to_be_visible()
    await expect(page.locator("html")).to_have_attribute("lang", lang)
    rooms = page.get_by_role("button", name=re.compile(words._(chat_page.TEXT["rooms"])))
    await expect(rooms).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"chat-{lang}-phone.png"
    path.unlink(missing_ok=True)
    await page.screenshot(path=str(path), animations="disabled")  # messages fade in
    assert path.stat().st_size > 10_000


async def test_the_bots_light_markup_is_shown_as_such_and_a_members_never(
    contexts: Opener, base: str
) -> None:
    ada = await join_as(contexts, base, "ada")
    await send(ada, "/styled")
    text = message(ada, "Answer with").locator(".text")
    await expect(text.locator("code")).to_have_text("checkin")
    await expect(text.locator("em")).to_have_text("today")
    await expect(text.locator("strong")).to_have_text("now")
    await expect(text.get_by_role("link")).to_have_attribute("href", "https://example.org/a")
    await expect(text).to_have_text("Answer with checkin, today or now: see https://example.org/a")
    await send(ada, MEMBER)
    mine = message(ada, "stays").locator(".text")
    await expect(mine).to_have_text(MEMBER)
    await expect(mine.locator("code, em, strong, b")).to_have_count(0)


async def test_a_new_message_is_announced_to_screen_readers(contexts: Opener, base: str) -> None:
    ada = await join_as(contexts, base, "ada")
    bob = await join_as(contexts, base, "bob")
    live = ada.locator("#live")
    await expect(live).to_have_attribute("aria-live", "polite")
    await send(bob, "Anyone for tea?")
    await expect(live).to_have_text("bob: Anyone for tea?")
    await send(ada, "/help")
    await expect(live).to_contain_text("New message from community-bot")
    await ada.reload()
    await expect(message(ada, "Anyone for tea?")).to_be_visible()
    await expect(ada.locator("#live")).to_have_text("")  # history is not read out again


FOCUSED = """() => {  // what has the focus, whether it had it before, and its outline
  const el = document.activeElement;
  const s = getComputedStyle(el);
  const what = el.tagName + "#" + el.id + "." + el.className + " " + (el.dataset.seen || "");
  el.dataset.seen = "again";
  return [what, s.outlineStyle, parseFloat(s.outlineWidth)];
}"""


async def test_every_control_is_reached_by_tab_with_a_visible_focus(
    contexts: Opener, base: str
) -> None:
    ada = await join_as(contexts, base, "ada")
    await send(ada, "Good morning")
    seen: set[str] = set()
    for _ in range(40):  # round the page once: from the message box back to it
        await ada.keyboard.press("Tab")
        what, style, width = await ada.evaluate(FOCUSED)
        if what.endswith("again"):
            break
        if what.startswith("BODY"):  # past the last control, before the first again
            continue
        seen.add(what)
        assert style != "none" and width >= 2, f"{what} is focused without a visible outline"
    assert any("react" in w for w in seen) and any("TEXTAREA#text" in w for w in seen), seen


async def test_motion_stops_for_those_who_ask_for_less(contexts: Opener, base: str) -> None:
    for motion, animation in (("no-preference", "arrive"), ("reduce", "none")):
        ada = await join_as(contexts, base, "ada", reduced_motion=motion)
        await send(ada, f"moving: {motion}")
        shown = message(ada, f"moving: {motion}")
        assert await shown.evaluate("el => getComputedStyle(el).animationName") == animation


async def test_a_right_to_left_language_mirrors_the_page(
    contexts: Opener, base: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(i18n, "RIGHT_TO_LEFT", frozenset({"sw"}))
    page = await join_as(contexts, base, "amani", extra_http_headers={"Accept-Language": "en"})
    assert await page.locator("html").get_attribute("dir") == "ltr"
    rtl = await (await contexts(extra_http_headers={"Accept-Language": "sw"})).new_page()
    await rtl.goto(base + "/")
    assert await rtl.locator("html").get_attribute("dir") == "rtl"
    await rtl.locator("#name-input").fill("amani")
    await rtl.locator("#name-input").press("Enter")
    await expect(rtl.locator("#room-title")).to_have_text("# main")
    side = await rtl.locator("#sidebar").bounding_box()
    chat = await rtl.locator("#messages").bounding_box()
    assert side and chat and side["x"] > chat["x"]
    border = await rtl.locator("#sidebar").evaluate(
        "el => [getComputedStyle(el).borderLeftWidth, getComputedStyle(el).borderRightWidth]"
    )
    assert border == ["1px", "0px"]
