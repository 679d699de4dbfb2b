"""The built-in web chat: a platform whose server is the bot's own web server.

It needs no credentials, so a newcomer can try every ritual on localhost. In `open` mode it
trusts the name a browser gives (only sensible on loopback); in `token` mode each person has a
token from the config. A room named `@alice` is alice's direct conversation with the bot.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from adapters.contract import (
    Action,
    ActionResult,
    Actor,
    Button,
    ButtonPressed,
    Capability,
    CloseSubSpace,
    CommandInvoked,
    Direct,
    Done,
    EditMessage,
    EventId,
    InboundSink,
    MessageId,
    MessageReceived,
    OpenSubSpace,
    Place,
    PlatformName,
    ReactionAdded,
    SendMessage,
    SendRate,
    Sent,
    SpaceId,
    SubSpaceOpened,
    ThreadId,
    UserId,
    plain_text,
    require,
)
from adapters.webchat.store import MessageWriter, Posted, WebMessage, WebRoom
from bot.clock import Clock
from bot.db import Database
from bot.errors import PlatformError
from bot.web import BadRequest, parse_json, read_body

log = logging.getLogger(__name__)

PLATFORM = PlatformName("web")
MAX_BODY = 64 * 1024
MAX_NAME = 64
MAX_ROOM = 200
COMMAND_PREFIXES = ("/", "!")
PRESENT_WINDOW = timedelta(minutes=10)
STATIC = Path(__file__).resolve().parent / "static"
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
"""The page loads only its own files; no token in its URL leaks through a Referer."""


def message_json(m: WebMessage | Posted) -> dict[str, Any]:
    return {
        "id": str(m.id),
        "room": m.room,
        "user": m.user,
        "text": m.text,
        "thread": m.thread,
        "ts": m.ts.isoformat(),
        "buttons": [dict(zip(("action", "value", "label"), b, strict=True)) for b in m.buttons]
        if m.buttons
        else [],
    }


def place_of(room: str, thread: str | None) -> Place:
    """A web room as a place; a room named `@user` is that user's DM with the bot."""
    return Place(
        PLATFORM, SpaceId(room), ThreadId(thread) if thread else None, room.startswith("@")
    )


def _name(value: Any, field: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(400, f"'{field}' must be a non-empty string")
    if len(value) > limit:
        raise BadRequest(400, f"'{field}' is longer than {limit} characters")
    if any(ord(c) < 32 for c in value):
        raise BadRequest(400, f"'{field}' contains control characters")
    return value.strip()


async def read_json(request: Request) -> dict[str, Any]:
    """The request's JSON object, refusing bodies over 64 KiB before reading them whole."""
    data = parse_json(await read_body(request, MAX_BODY))
    if not isinstance(data, dict):
        raise BadRequest(400, "the body must be a JSON object")
    return data


class WebChat:
    """The web chat adapter; its HTTP API is served by the bot's web server."""

    platform = PLATFORM
    capabilities = frozenset(
        {
            Capability.THREADS,
            Capability.DIRECT_MESSAGES,
            Capability.BUTTONS,
            Capability.EDITS,
            Capability.REACTIONS,
            Capability.PRESENCE,
            Capability.PRIVATE_SUBSPACES,
            Capability.IDEMPOTENT_SEND,
        }
    )
    send_rate = SendRate(per_second=2000.0, burst=500)
    command_prefix = COMMAND_PREFIXES[0]
    max_text = 32_000

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        bot_name: str = "community-bot",
        tokens: Mapping[str, str] | None = None,
    ) -> None:
        self.db = db
        self._writer = MessageWriter(db)
        self.clock = clock
        self.self_id = UserId(bot_name)
        self.tokens = dict(tokens) if tokens is not None else None
        """token -> user name in token mode; None in open mode."""
        self._sink: InboundSink | None = None
        self._subscribers: dict[str, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)
        self._watching: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self._opened: dict[str, WebRoom] | None = None
        """The rooms the bot opened, by name, once read (`_room`)."""

    # --- the adapter contract -------------------------------------------------------------

    async def start(self, sink: InboundSink) -> None:
        self._sink = sink

    async def stop(self) -> None:
        self._sink = None
        for queues in self._subscribers.values():
            for q in queues:
                q.put_nowait({"type": "closing"})

    async def perform(self, action: Action) -> ActionResult:
        require(self, action)
        if isinstance(action, SendMessage):
            room = f"@{action.to.user_id}" if isinstance(action.to, Direct) else action.to.space
            thread = action.to.thread if isinstance(action.to, Place) else None
            m = await self._store(
                room, self.self_id, plain_text(action.text), thread, action.buttons, action.key
            )
            return Sent(MessageId(str(m.id)), place_of(room, thread), ThreadId(str(m.id)))
        if isinstance(action, EditMessage):
            return await self._edit(action)
        if isinstance(action, OpenSubSpace):
            return await self._open_room(action)
        if isinstance(action, CloseSubSpace):
            async with self.db.session() as s:
                row = await s.get(WebRoom, action.place.space)
                if row is None:
                    raise PlatformError(f"no room {action.place.space}", permanent=True)
                row.closed = True
                s.add(row)
            if self._opened is not None:
                self._opened[row.name] = row
            return Done()
        raise PlatformError(f"web chat cannot perform {type(action).__name__}", permanent=True)

    async def present(self, place: Place) -> Sequence[Actor]:
        since = self.clock.now() - PRESENT_WINDOW
        async with self.db.reader() as s:
            posted = (
                await s.exec(
                    select(WebMessage.user)
                    .where(WebMessage.room == place.space, col(WebMessage.ts) >= since)
                    .distinct()
                )
            ).all()
        names = set(posted) | {u for u, n in self._watching[place.space].items() if n > 0}
        names.discard(self.self_id)
        return [Actor(PLATFORM, UserId(n), n) for n in sorted(names)]

    # --- storage and fan-out --------------------------------------------------------------

    async def _store(
        self,
        room: str,
        user: str,
        text: str,
        thread: str | None,
        buttons: tuple[Button, ...] = (),
        key: str | None = None,
    ) -> Posted:
        values: dict[str, Any] = {
            "room": room,
            "user": user,
            "text": text,
            "thread": thread,
            "buttons": [[b.action, b.value, b.label] for b in buttons] or None,
            "key": key,
            "ts": self.clock.now(),
        }
        try:
            row = Posted(id=await self._writer.store(values), **values)
        except IntegrityError:
            async with self.db.reader() as s:
                existing = (await s.exec(select(WebMessage).where(WebMessage.key == key))).one()
            return Posted.of(existing)
        self._publish(room, {"type": "message", "message": message_json(row)})
        return row

    async def _edit(self, action: EditMessage) -> ActionResult:
        async with self.db.session() as s:
            row = await s.get(WebMessage, int(action.message_id))
            if row is None or row.room != action.place.space:
                raise PlatformError(f"no message {action.message_id}", permanent=True)
            row.text = plain_text(action.text)
            s.add(row)
        self._publish(row.room, {"type": "edit", "message": message_json(row)})
        return Sent(action.message_id, action.place, ThreadId(action.message_id))

    async def _open_room(self, action: OpenSubSpace) -> ActionResult:
        name = f"{action.parent.space}/{action.key.rsplit(':', 1)[-1]}"[:MAX_ROOM]
        async with self.db.session() as s:
            existing = (
                await s.exec(
                    select(WebRoom).where(
                        WebRoom.parent == action.parent.space, WebRoom.title == action.name[:200]
                    )
                )
            ).first() or await s.get(WebRoom, name)
            if existing is not None:
                name = existing.name
                existing.members = sorted(set(existing.members) | set(action.members))
                s.add(existing)
            else:
                existing = WebRoom(
                    name=name,
                    parent=action.parent.space,
                    title=action.name[:200],
                    private=action.private,
                    members=list(action.members),
                )
                s.add(existing)
        if self._opened is not None:
            self._opened[name] = existing
        for member in action.members:
            self._publish(f"@{member}", {"type": "room", "room": name, "title": action.name})
        return SubSpaceOpened(Place(PLATFORM, SpaceId(name)))

    def _publish(self, room: str, event: dict[str, Any]) -> None:
        for q in list(self._subscribers.get(room, ())):
            if q.full():
                self._subscribers[room].discard(q)
                continue
            q.put_nowait(event)

    # --- the HTTP API ---------------------------------------------------------------------

    def http_routes(self) -> list[BaseRoute]:
        return [
            Route("/", self._page, methods=["GET"]),
            Mount("/chat", StaticFiles(directory=STATIC), name="chat-static"),
            Route("/api/chat/me", self._me, methods=["GET"]),
            Route("/api/chat/messages", self._post_message, methods=["POST"]),
            Route("/api/chat/messages", self._get_messages, methods=["GET"]),
            Route("/api/chat/buttons", self._press_button, methods=["POST"]),
            Route("/api/chat/reactions", self._react, methods=["POST"]),
            Route("/api/chat/rooms", self._rooms, methods=["GET"]),
            WebSocketRoute("/api/chat/ws", self._websocket),
        ]

    async def _page(self, request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers=PAGE_HEADERS)

    async def _me(self, request: Request) -> Response:
        """What the page needs to start: the mode, and in token mode whose token it holds."""
        mode = "open" if self.tokens is None else "token"
        user = None
        if self.tokens is not None and request.headers.get("authorization"):
            try:
                user = self._caller(None, request.headers.get("authorization"))
            except BadRequest as exc:
                return JSONResponse({"error": exc.reason, "mode": mode}, status_code=exc.status)
        return JSONResponse({"mode": mode, "user": user, "bot": self.self_id})

    def _caller(self, given: Any, authorization: str | None) -> str:
        """Who is calling: the name given (open mode) or the token's owner (token mode)."""
        if self.tokens is None:
            user = _name(given, "user", MAX_NAME)
        else:
            token = (authorization or "").removeprefix("Bearer ").strip()
            owner = self.tokens.get(token)
            if owner is None:
                raise BadRequest(401, "a valid token is required (Authorization: Bearer ...)")
            if given is not None and given != owner:
                raise BadRequest(403, "the token belongs to someone else")
            user = owner
        if user == self.self_id:
            raise BadRequest(403, "that name is the bot's")
        return user

    async def _room(self, name: str) -> WebRoom | None:
        """The room's row, if the bot opened it; read once, then kept (only we write them)."""
        if self._opened is None:
            async with self.db.reader() as s:
                self._opened = {r.name: r for r in (await s.exec(select(WebRoom))).all()}
        return self._opened.get(name)

    async def _may_read(self, room: str, user: str) -> None:
        if room.startswith("@"):
            if room[1:] != user:
                raise BadRequest(403, "that is someone else's direct conversation")
            return
        row = await self._room(room)
        if row is not None and row.private and user not in row.members:
            raise BadRequest(403, "that room is private to its group")

    async def _post_message(self, request: Request) -> Response:
        try:
            data = await read_json(request)
            user = self._caller(data.get("user"), request.headers.get("authorization"))
            room = _name(data.get("room"), "room", MAX_ROOM)
            text = data.get("text")
            if not isinstance(text, str):
                raise BadRequest(400, "'text' must be a string")
            thread = data.get("thread")
            if thread is not None and not (isinstance(thread, str) and thread.isdigit()):
                raise BadRequest(400, "'thread' must be the id of a message")
            await self._may_read(room, user)
        except BadRequest as exc:
            return JSONResponse({"error": exc.reason}, status_code=exc.status)
        m = await self._store(room, user, text, thread)
        await self._deliver_inbound(m)
        return JSONResponse({"id": str(m.id)}, status_code=201)

    async def _deliver_inbound(self, m: Posted) -> None:
        if self._sink is None:
            return
        place = place_of(m.room, m.thread)
        actor = Actor(PLATFORM, UserId(m.user), m.user)
        common: dict[str, Any] = {
            "event_id": EventId(f"msg-{m.id}"),
            "actor": actor,
            "place": place,
            "raw": {"id": m.id, "room": m.room, "text": m.text[:200]},
        }
        text = m.text.lstrip()
        if text[:1] in COMMAND_PREFIXES and len(text) > 1:
            await self._sink(
                CommandInvoked(text=text[1:], message_id=MessageId(str(m.id)), **common)
            )
        else:
            await self._sink(
                MessageReceived(message_id=MessageId(str(m.id)), text=m.text, **common)
            )

    async def _find_message(self, data: dict[str, Any]) -> WebMessage:
        mid = data.get("message")
        if not (isinstance(mid, str) and mid.isdigit()):
            raise BadRequest(400, "'message' must be the id of a message")
        async with self.db.reader() as s:
            m = await s.get(WebMessage, int(mid))
        if m is None or m.room != data.get("room"):
            raise BadRequest(404, "no such message in that room")
        return m

    async def _about_message(self, request: Request) -> tuple[dict[str, Any], str, WebMessage]:
        """The body, the caller and the message a button press or a reaction is about."""
        data = await read_json(request)
        user = self._caller(data.get("user"), request.headers.get("authorization"))
        m = await self._find_message(data)
        await self._may_read(m.room, user)
        return data, user, m

    async def _press_button(self, request: Request) -> Response:
        try:
            data, user, m = await self._about_message(request)
            action, value = data.get("action"), data.get("value")
            if [action, value] not in [[b[0], b[1]] for b in m.buttons or []]:
                raise BadRequest(400, "that message has no such button")
        except BadRequest as exc:
            return JSONResponse({"error": exc.reason}, status_code=exc.status)
        if self._sink is not None:
            await self._sink(
                ButtonPressed(
                    event_id=EventId(f"btn-{m.id}-{user}-{self.clock.now().timestamp()}"),
                    actor=Actor(PLATFORM, UserId(user), user),
                    place=place_of(m.room, m.thread),
                    message_id=MessageId(str(m.id)),
                    action=str(action),
                    value=str(value),
                )
            )
        return JSONResponse({"ok": True})

    async def _react(self, request: Request) -> Response:
        try:
            data, user, m = await self._about_message(request)
            key = _name(data.get("key"), "key", 32)
        except BadRequest as exc:
            return JSONResponse({"error": exc.reason}, status_code=exc.status)
        if self._sink is not None:
            await self._sink(
                ReactionAdded(
                    event_id=EventId(f"react-{m.id}-{user}-{key}"),
                    actor=Actor(PLATFORM, UserId(user), user),
                    place=place_of(m.room, None),
                    message_id=MessageId(str(m.id)),
                    key=key,
                )
            )
        return JSONResponse({"ok": True})

    async def _get_messages(self, request: Request) -> Response:
        try:
            user = self._caller(
                request.query_params.get("user"), request.headers.get("authorization")
            )
            room = _name(request.query_params.get("room"), "room", MAX_ROOM)
            after = request.query_params.get("after", "0")
            if not after.isdigit():
                raise BadRequest(400, "'after' must be a message id")
            await self._may_read(room, user)
        except BadRequest as exc:
            return JSONResponse({"error": exc.reason}, status_code=exc.status)
        return JSONResponse({"messages": await self._since(room, int(after))})

    async def _since(self, room: str, after: int, limit: int = 500) -> list[dict[str, Any]]:
        async with self.db.reader() as s:
            rows = (
                await s.exec(
                    select(WebMessage)
                    .where(WebMessage.room == room, col(WebMessage.id) > after)
                    .order_by(col(WebMessage.id))
                    .limit(limit)
                )
            ).all()
        return [message_json(m) for m in rows]

    async def _rooms(self, request: Request) -> Response:
        try:
            user = self._caller(
                request.query_params.get("user"), request.headers.get("authorization")
            )
        except BadRequest as exc:
            return JSONResponse({"error": exc.reason}, status_code=exc.status)
        async with self.db.reader() as s:
            used = (await s.exec(select(WebMessage.room).distinct())).all()
            opened = (await s.exec(select(WebRoom))).all()
        private = {r.name for r in opened if r.private and user not in r.members}
        rooms = sorted(
            {r for r in used if not r.startswith("@") and r not in private}
            | {r.name for r in opened if r.name not in private}
        )
        titles = {r.name: r.title for r in opened}
        return JSONResponse(
            {
                "rooms": [{"room": r, "title": titles.get(r, r)} for r in rooms],
                "direct": f"@{user}",
            }
        )

    async def _websocket(self, ws: WebSocket) -> None:
        try:
            user = self._caller(
                ws.query_params.get("user"), f"Bearer {ws.query_params.get('token', '')}"
            )
            room = _name(ws.query_params.get("room"), "room", MAX_ROOM)
            after = ws.query_params.get("after", "0")
            if not after.isdigit():
                raise BadRequest(400, "'after' must be a message id")
            await self._may_read(room, user)
        except BadRequest as exc:
            await ws.close(code=4000 + exc.status, reason=exc.reason)
            return
        await ws.accept()
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1000)
        self._subscribers[room].add(queue)
        self._watching[room][user] += 1
        listener = asyncio.create_task(self._until_closed(ws, queue))
        try:
            for m in await self._since(room, int(after)):
                await ws.send_json({"type": "message", "message": m})
            while True:
                event = await queue.get()
                if event["type"] == "closing":
                    break
                await ws.send_json(event)
        except WebSocketDisconnect:
            pass
        finally:
            listener.cancel()
            self._subscribers[room].discard(queue)
            self._watching[room][user] -= 1
            if ws.client_state.name == "CONNECTED":
                await ws.close()

    @staticmethod
    async def _until_closed(ws: WebSocket, queue: asyncio.Queue[dict[str, Any]]) -> None:
        """Notice a client going away even while no message is being sent to it."""
        try:
            while (await ws.receive())["type"] != "websocket.disconnect":
                pass
        finally:
            queue.put_nowait({"type": "closing"})
