"""The dashboard's web pages: signing in with a link, the sections, their forms and downloads.

Anyone who is not a signed-in organiser gets a bare 403, whatever went wrong (no cookie, a
forged or expired one, a used link, a missing CSRF token), so a probe learns nothing.
Everything else is in the organiser's language: their own choice (`me lang`), then what
their browser asks for (`Accept-Language`), then the community's.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from bot import i18n
from bot.dashboard.auth import (
    COOKIE,
    SESSION_TTL,
    Signer,
    close_session,
    link_owner,
    load_secret,
    open_session,
    redeem_link,
    use_session,
)
from bot.dashboard.html import Html, join, tag
from bot.dashboard.registry import SECTIONS
from bot.dashboard.section import Section, View
from bot.errors import UserInputError
from bot.i18n import Words
from bot.models import Community, Member, Role

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession

    from bot.core import Bot

STATIC = Path(__file__).resolve().parent / "static"
MAX_FORM = 16 * 1024
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def forbidden() -> Response:
    return Response("Forbidden", status_code=403, media_type="text/plain", headers=HEADERS)


class Forbidden(Exception):
    """Anything that must end in a bare 403."""


async def read_form(request: Request) -> dict[str, str]:
    """A urlencoded form body of at most 16 KiB; anything else is refused."""
    if request.headers.get("content-type", "").split(";")[0] != "application/x-www-form-urlencoded":
        raise Forbidden
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM:
            raise Forbidden
    try:
        return dict(parse_qsl(body.decode(), keep_blank_values=True))
    except UnicodeDecodeError:
        raise Forbidden from None


def page(words: Words, title: str, *body: object) -> HTMLResponse:
    doc = join(
        Html("<!doctype html>"),
        tag(
            "html",
            tag(
                "head",
                tag("meta", charset="utf-8"),
                tag("meta", name="viewport", content="width=device-width, initial-scale=1"),
                tag("title", title),
                tag("link", rel="stylesheet", href="/dashboard/static/dashboard.css"),
            ),
            tag("body", *body),
            lang=words.lang,
            dir="rtl" if words.lang in i18n.RIGHT_TO_LEFT else "ltr",
        ),
    )
    return HTMLResponse(doc, headers=HEADERS)


LANG_COOKIE = "cb_dashboard_lang"
"""The language picked on the dashboard itself (its language links), kept for later pages."""


def language(request: Request, bot: Bot, member: Member) -> Words:
    """The language picked on the page (`?lang=`, then its cookie), then the organiser's own
    choice, then their browser's, then their platform's, then the community's."""
    return i18n.words(
        i18n.choose(
            request.query_params.get("lang"),
            request.cookies.get(LANG_COOKIE),
            member.language,
            i18n.negotiate(request.headers.get("accept-language")),
            member.platform_language,
            bot.config.model.community.language,
        )
    )


class Dashboard:
    """The routes, bound to one bot; the signing secret is loaded once, on first use."""

    def __init__(self, bot: Bot, sections: list[Section]) -> None:
        self.bot = bot
        self.sections = {s.key: s for s in sections}
        self._signer: Signer | None = None

    async def signer(self) -> Signer:
        if self._signer is None:
            self._signer = Signer(await load_secret(self.bot.db))
        return self._signer

    def routes(self) -> list[BaseRoute]:
        return [
            Mount("/dashboard/static", StaticFiles(directory=STATIC), name="dashboard-static"),
            Route("/dashboard", self.show, methods=["GET"]),
            Route("/dashboard/login", self.login_page, methods=["GET"]),
            Route("/dashboard/login", self.login, methods=["POST"]),
            Route("/dashboard/logout", self.logout, methods=["POST"]),
            Route("/dashboard/{section}/{name}", self.submit, methods=["POST"]),
            Route("/dashboard/{section}/{name}", self.download, methods=["GET"]),
        ]

    # --- signing in -----------------------------------------------------------------------

    async def _organiser(self, s: AsyncSession, member_id: int | None) -> Member:
        member = await s.get(Member, member_id) if member_id is not None else None
        if (
            member is None
            or member.community_id != self.bot.community.id
            or member.role < Role.ORGANISER
        ):
            raise Forbidden
        return member

    async def login_page(self, request: Request) -> Response:
        """What the link opens: a button, so a link preview fetching the URL cannot use it up."""
        token = request.query_params.get("token", "")
        async with self.bot.db.reader() as s:
            try:
                member = await self._organiser(s, await link_owner(s, token, self.bot.clock.now()))
            except Forbidden:
                return forbidden()
        words = language(request, self.bot, member)
        form = tag(
            "form",
            tag("input", type="hidden", name="token", value=token),
            tag(
                "button",
                words._("Open the dashboard as {name}", name=member.display_name),
                type="submit",
            ),
            method="post",
            action="/dashboard/login",
        )
        return page(
            words,
            words._("Sign in"),
            tag(
                "main",
                tag("h1", words._("Organiser dashboard")),
                tag(
                    "p",
                    words._(
                        "This link works once. You are signed out after 30 minutes without "
                        "use, and after 8 hours at most."
                    ),
                ),
                form,
                class_="signin",
            ),
        )

    async def login(self, request: Request) -> Response:
        try:
            form = await read_form(request)
            now = self.bot.clock.now()
            async with self.bot.db.session() as s:
                member = await self._organiser(s, await redeem_link(s, form.get("token", ""), now))
                assert member.id is not None
                cookie = await open_session(s, member.id, now)
        except Forbidden:
            return forbidden()
        response = RedirectResponse("/dashboard", status_code=303, headers=HEADERS)
        response.set_cookie(
            COOKIE,
            cookie,
            max_age=int(SESSION_TTL.total_seconds()),
            path="/dashboard",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    async def logout(self, request: Request) -> Response:
        """Ends the session on the server, not only in this browser: a copy of the cookie
        stops working too."""
        try:
            _, cookie, member_id = await self._checked_form(request)
        except Forbidden:
            return forbidden()
        async with self.bot.db.session() as s:
            await close_session(s, cookie)
            member = await s.get(Member, member_id)
        words = language(request, self.bot, member) if member else i18n.words(None)
        response = page(
            words,
            words._("Signed out"),
            tag("main", tag("h1", words._("You are signed out.")), class_="signin"),
        )
        response.delete_cookie(COOKIE, path="/dashboard", httponly=True, samesite="strict")
        return response

    async def _session(self, request: Request) -> tuple[str, int]:
        """The request's session cookie and its member, if the session is live (and now
        marked used); Forbidden otherwise."""
        cookie = request.cookies.get(COOKIE, "")
        async with self.bot.db.session() as s:
            member_id = await use_session(s, cookie, self.bot.clock.now())
        if member_id is None:
            raise Forbidden
        return cookie, member_id

    async def _checked_form(self, request: Request) -> tuple[dict[str, str], str, int]:
        """A form posted in a live session with its CSRF token: the form, cookie, member."""
        form = await read_form(request)
        cookie, member_id = await self._session(request)
        if not (await self.signer()).csrf_ok(cookie, form.get("csrf")):
            raise Forbidden
        return form, cookie, member_id

    async def _view(
        self,
        s: AsyncSession,
        request: Request,
        cookie: str,
        member_id: int,
        params: Mapping[str, str],
    ) -> View:
        member = await self._organiser(s, member_id)
        community = await s.get(Community, self.bot.community.id)
        assert community is not None
        csrf = (await self.signer()).csrf(cookie)
        words = language(request, self.bot, member)
        return View(self.bot.scope(s), community, member, csrf, params, words)

    # --- the page, its forms and downloads --------------------------------------------------

    async def show(self, request: Request) -> Response:
        try:
            cookie, member_id = await self._session(request)
        except Forbidden:
            return forbidden()
        async with self.bot.db.reader() as s:
            try:
                view = await self._view(s, request, cookie, member_id, dict(request.query_params))
            except Forbidden:
                return forbidden()
            words = view.words
            parts = [
                tag(
                    "section",
                    tag("h2", words._(section.title), id=f"{section.key}-title"),
                    await section.render(view),
                    id=section.key,
                    aria_labelledby=f"{section.key}-title",
                )
                for section in self.sections.values()
            ]
        nav = tag(
            "nav",
            tag(
                "ul",
                *(
                    tag("li", tag("a", words._(s.title), href=f"#{s.key}"))
                    for s in self.sections.values()
                ),
            ),
            aria_label=words._("Sections"),
        )
        logout = tag(
            "form",
            tag("input", type="hidden", name="csrf", value=view.csrf),
            tag("button", words._("Sign out"), type="submit"),
            method="post",
            action="/dashboard/logout",
        )
        header = tag(
            "header",
            tag("h1", words._("{community} — dashboard", community=view.community.name)),
            tag(
                "p",
                words._("Signed in as {name} (organiser)", name=view.organiser.display_name),
                class_="who",
            ),
            logout,
        )
        title = words._("{community} — dashboard", community=view.community.name)
        response = page(words, title, header, _languages(words), nav, tag("main", *parts))
        if i18n.supported(request.query_params.get("lang")):
            response.set_cookie(
                LANG_COOKIE, words.lang, path="/dashboard", httponly=True, samesite="strict"
            )
        return response

    async def submit(self, request: Request) -> Response:
        section = self.sections.get(request.path_params["section"])
        handler = section.forms.get(request.path_params["name"]) if section else None
        try:
            form, cookie, member_id = await self._checked_form(request)
            if section is None or handler is None:
                raise Forbidden
            async with self.bot.db.session() as s:
                view = await self._view(s, request, cookie, member_id, {})
                await handler(view, form)
            view.scope.committed()
        except Forbidden:
            return forbidden()
        except UserInputError as exc:
            return self._refused(view.words, section, exc)
        return RedirectResponse(f"/dashboard#{section.key}", status_code=303, headers=HEADERS)

    @staticmethod
    def _refused(words: Words, section: Section | None, exc: UserInputError) -> Response:
        back = f"/dashboard#{section.key}" if section else "/dashboard"
        response = page(
            words,
            words._("Not done"),
            tag(
                "main",
                tag("h1", words._("That was not done")),
                tag("p", exc.text(words), role="alert"),
                tag("p", tag("a", words._("Back to the dashboard"), href=back)),
                class_="signin",
            ),
        )
        response.status_code = 400
        return response

    async def download(self, request: Request) -> Response:
        section = self.sections.get(request.path_params["section"])
        serve = section.downloads.get(request.path_params["name"]) if section else None
        try:
            cookie, member_id = await self._session(request)
        except Forbidden:
            return forbidden()
        async with self.bot.db.reader() as s:
            try:
                view = await self._view(s, request, cookie, member_id, dict(request.query_params))
                if serve is None:
                    raise Forbidden
            except Forbidden:
                return forbidden()
            return await serve(view, request)


def _languages(words: Words) -> Html:
    """Links to the dashboard in each language, each named in its own language."""
    return tag(
        "nav",
        tag(
            "ul",
            *(
                tag(
                    "li",
                    tag(
                        "a",
                        name,
                        href=f"/dashboard?lang={lang}",
                        lang=lang,
                        hreflang=lang,
                        aria_current="true" if lang == words.lang else None,
                    ),
                )
                for lang, name in i18n.NAMES.items()
            ),
        ),
        aria_label=words._("Language"),
        class_="languages",
    )


def routes(bot: Bot) -> list[BaseRoute]:
    return Dashboard(bot, SECTIONS).routes()
