"""The chat page itself: `index.html` filled in the browser's language, and its static files.

Every word on the page comes from the bot's catalogs: the HTML's words are put in by the
server, and the script's are handed to it as a JSON block (`#words`) that it reads instead of
holding English of its own. The language is the one the browser's `Accept-Language` prefers.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from string import Template

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from bot import i18n
from bot.i18n import N_, Words

STATIC = Path(__file__).resolve().parent / "static"
TEMPLATE = Template((Path(__file__).resolve().parent / "index.html").read_text())
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Vary": "Accept-Language",
}
"""The page loads only its own files; no token in its URL leaks through a Referer."""

TEXT = {
    "title": N_("Community chat"),
    "about": N_(
        "Talk with your community and with {bot}. It runs check-ins, breakouts and "
        "event reminders here."
    ),
    "pick_name": N_("Pick a name to chat as"),
    "start": N_("Start chatting"),
    "name_hint": N_(
        "This browser remembers your name. Anyone can pick any name here, so use this chat "
        "only to try things out on your own computer."
    ),
    "rooms": N_("Rooms"),
    "join_label": N_("Join or create a room"),
    "room_name": N_("room name"),
    "join": N_("Join"),
    "change_name": N_("Change name"),
    "messages": N_("Messages"),
    "leave_thread": N_("Leave thread"),
    "message": N_("Message"),
    "send": N_("Send"),
    "composer_hint": N_(
        "Enter sends. Shift+Enter starts a new line. Commands start with {slash}: try {help}."
    ),
    "form_hint": N_("This goes to the bot only. It is not posted in the chat."),
    "cancel": N_("Cancel"),
    "new_messages": N_("New messages"),
}
"""Words put into the HTML (`$key` in index.html)."""

SCRIPT = {
    "rooms": TEXT["rooms"],
    "reconnecting": N_("Connection lost. Trying again…"),
    "bot_author": N_("{name} (bot)"),
    "choices_by": N_("Choices from {name}"),
    "react": N_("Add +1 to the message from {name}"),
    "reply": N_("Reply in thread"),
    "reply_count": N_("Reply in thread ({n})"),
    "reply_to": N_("Reply in thread to the message from {name}"),
    "replies_to": N_("Replies to {name}"),
    "in_thread": N_("in a thread"),
    "direct": N_("{bot} (direct)"),
    "no_rooms": N_("Could not list the rooms: {error}"),
    "write_to_bot": N_("Message {bot}: try /help"),
    "write_to_room": N_("Message # {room}"),
    "replying": N_("Replying in thread to “{quote}”"),
    "not_sent": N_("Not sent: {error}"),
    "chose": N_("You chose “{label}”."),
    "failed": N_("That did not work: {error}"),
    "sent_to_bot": N_("Sent to the bot."),
    "you_are": N_("You are {name}"),
    "bots_name": N_("That name is the bot's. Pick another."),
    "link_expired": N_("That link does not work any more. Ask an organiser for a new one."),
    "link_needed": N_("This chat needs your personal link. Ask an organiser for it."),
    "said": N_("{name}: {text}"),
    "new_from": N_("New message from {name}"),
}
"""Words the script shows, with `{name}` parameters it fills in."""


def counted(lang: str) -> dict[str, list[str]]:
    """Messages that follow a count, as the forms for 1 and for many: the script picks one
    with `Intl.PluralRules` ("one" or "other", the two every shipped language has)."""
    ngettext = i18n.catalog(lang).ngettext
    return {
        "unread": [ngettext("{n} new", "{n} new", n) for n in (1, 2)],
        "rooms_unread": [ngettext("Rooms ({n} new)", "Rooms ({n} new)", n) for n in (1, 2)],
    }


def script_words(words: Words) -> str:
    """The script's words as JSON that is safe inside a `<script>` block."""
    data: dict[str, object] = {k: words._(v) for k, v in SCRIPT.items()}
    data |= {"lang": words.lang, "counted": counted(words.lang)}
    return json.dumps(data, ensure_ascii=False).replace("<", "\\u003c")


def render(lang: str, bot: str) -> str:
    """The page in `lang`, naming the bot `bot`."""
    words = i18n.words(lang)
    text = {k: html.escape(words._(v)) for k, v in TEXT.items()}
    strong = f'<strong class="bot-name">{html.escape(bot)}</strong>'
    text["about"] = html.escape(words._(TEXT["about"])).replace("{bot}", strong)
    text["composer_hint"] = (
        html.escape(words._(TEXT["composer_hint"]))
        .replace("{slash}", "<kbd>/</kbd>")
        .replace("{help}", "<kbd>/help</kbd>")
    )
    return TEMPLATE.substitute(
        text,
        lang=words.lang,
        dir="rtl" if words.lang in i18n.RIGHT_TO_LEFT else "ltr",
        words=script_words(words),
    )


def routes(bot: str, default: str | None = None) -> list[BaseRoute]:
    """`/` (the page, in the browser's language, else in `default`) and `/chat/*` (its script
    and style)."""

    async def page(request: Request) -> Response:
        lang = i18n.choose(i18n.negotiate(request.headers.get("accept-language")), default)
        return HTMLResponse(render(lang, bot), headers=HEADERS)

    return [
        Route("/", page, methods=["GET"]),
        Mount("/chat", StaticFiles(directory=STATIC), name="chat-static"),
    ]
