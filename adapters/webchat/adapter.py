"""The built-in web chat: a platform whose server is the bot's own web server.

It needs no credentials, so a newcomer can try every ritual on localhost. In `open` mode it
trusts the name a browser gives (only sensible on loopback); in `token` mode each person has a
token from the config. A room named `@alice` is alice's direct conversation with the bot.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from adapters.contract import (
    Action,
    ActionResult,
    Actor,
    Button,
    ButtonPressed,
    Capability,
    CloseSubSpace,
    Direct,
    Done,
    EditMessage,
    EventId,
    InboundSink,
    MessageId,
    OpenSubSpace,
    Place,
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
    stored_text,
)
from adapters.webchat import page, translate
from adapters.webchat.store import MessageWriter, Posted, WebMessage, WebRoom
from adapters.webchat.translate import (
    COMMAND_PREFIXES,
    MAX_NAME,
    MAX_REACTION,
    MAX_ROOM,
    PLATFORM,
    button_json,
    button_row,
    form_text,
    message_json,
    place_of,
)
from bot import i18n
from bot.clock import Clock
from bot.db import Database
from bot.errors import PlatformError
from bot.pubsub import RESYNC, PubSub
from bot.web import BadRequest, parse_json, read_body

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
PRESENT_WINDOW = timedelta(minutes=10)
REVEAL_FOR = 15 * 60.0
"""Seconds a message's one-time links are shown: as long as they work."""
NOTE_LIMIT = 6_000
"""Bytes of an event sent whole to the other processes; a longer one is sent by id."""


def spoken(request: Request) -> str | None:
    """The shipped language the browser's `Accept-Language` prefers, as the person's locale."""
    return i18n.negotiate(request.headers.get("accept-language"))


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
            Capability.MODALS,
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
        pubsub: PubSub | None = None,
        language: str | None = None,
    ) -> None:
        self.db = db
        self.language = language
        """The community's language: the page's when the browser asks for none we speak."""
        self.pubsub = pubsub
        """Tells the other processes serving the web chat what to push to their browsers."""
        if pubsub is not None:
            pubsub.subscribe("web", self._heard)
        self._writer = MessageWriter(db)
        self.clock = clock
        self.self_id = UserId(bot_name)
        self.tokens = dict(tokens) if tokens is not None else None
        """token -> user name in token mode; None in open mode."""
        self._sink: InboundSink | None = None
        self._subscribers: dict[str, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)
        self._watching: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self._revealed: dict[str, tuple[str, float]] = {}
        """A bot message's key -> its text with its secrets, and until when (monotonic) it is
        kept. By key, not id: it is kept before the insert, so no reader sees the row first."""
        self._reading: set[asyncio.Task[None]] = set()
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
                room,
                self.self_id,
                stored_text(action.text),
                thread,
                action.buttons,
                action.key,
                revealed=plain_text(action.text),
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
        *,
        revealed: str | None = None,
    ) -> Posted:
        """Store a message; `revealed` is its text with its secrets, if any: kept only in
        memory (`_reveal`), never in the table."""
        if key is not None:
            self._reveal(key, text, revealed)
        values: dict[str, Any] = {
            "room": room,
            "user": user,
            "text": text,
            "thread": thread,
            "buttons": [button_row(b) for b in buttons] or None,
            "key": key,
            "ts": self.clock.now(),
        }
        try:
            row = Posted(id=await self._writer.store(values), **values)
        except IntegrityError:
            async with self.db.reader() as s:
                existing = (await s.exec(select(WebMessage).where(WebMessage.key == key))).one()
            return Posted.of(existing)
        self._publish(room, {"type": "message", "message": self._json(row)})
        return row

    def _reveal(self, key: str, stored: str, revealed: str | None) -> None:
        """Keep a message's secrets (one-time links) in memory for as long as they can work,
        so the table and any copy of it hold only their stored form."""
        now = time.monotonic()
        for known, (_, until) in list(self._revealed.items()):
            if until <= now:
                del self._revealed[known]
        if revealed is not None and revealed != stored:
            self._revealed[key] = (revealed, now + REVEAL_FOR)
        else:  # an edit that took its secrets out
            self._revealed.pop(key, None)

    def _json(self, m: WebMessage | Posted) -> dict[str, Any]:
        """A message as clients see it: with its secrets while they are still kept."""
        data = message_json(m)
        text, until = self._revealed.get(m.key or "", ("", 0.0))
        if until > time.monotonic():
            data["text"] = text
        return data

    async def _edit(self, action: EditMessage) -> ActionResult:
        async with self.db.session() as s:
            row = await s.get(WebMessage, int(action.message_id))
            if row is None or row.room != action.place.space:
                raise PlatformError(f"no message {action.message_id}", permanent=True)
            row.text = stored_text(action.text)
            s.add(row)
            if row.key is not None:
                self._reveal(row.key, row.text, plain_text(action.text))
        self._publish(row.room, {"type": "edit", "message": self._json(row)})
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
        """Push an event to the browsers watching `room`, here and through other processes
        (a message too long for a note is named by id, and read there)."""
        self._push(room, event)
        if self.pubsub is not None:
            note: dict[str, Any] = {"room": room, "event": event}
            if len(json.dumps(event)) > NOTE_LIMIT:
                note = {"room": room, "type": event["type"], "id": event["message"]["id"]}
            self.pubsub.publish("web", note)

    def _heard(self, note: Any) -> None:
        if note == RESYNC:
            return  # browsers ask for what they missed when they reconnect (`after`)
        if "event" in note:
            self._push(note["room"], note["event"])
        elif self._subscribers.get(note["room"]):
            task = asyncio.create_task(self._push_stored(note["room"], note["type"], note["id"]))
            self._reading.add(task)
            task.add_done_callback(self._reading.discard)

    async def _push_stored(self, room: str, kind: str, message_id: str) -> None:
        async with self.db.reader() as s:
            m = await s.get(WebMessage, int(message_id))
        if m is not None:
            self._push(room, {"type": kind, "message": message_json(m)})

    def _push(self, room: str, event: dict[str, Any]) -> None:
        for q in list(self._subscribers.get(room, ())):
            if q.full():
                self._subscribers[room].discard(q)
                continue
            q.put_nowait(event)

    # --- the HTTP API ---------------------------------------------------------------------

    def http_routes(self) -> list[BaseRoute]:
        return [
            *page.routes(self.self_id, self.language),
            Route("/api/chat/me", self._me, methods=["GET"]),
            Route("/api/chat/messages", self._post_message, methods=["POST"]),
            Route("/api/chat/messages", self._get_messages, methods=["GET"]),
            Route("/api/chat/buttons", self._press_button, methods=["POST"]),
            Route("/api/chat/reactions", self._react, methods=["POST"]),
            Route("/api/chat/rooms", self._rooms, methods=["GET"]),
            WebSocketRoute("/api/chat/ws", self._websocket),
        ]

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
            user = translate.name(given, "user", MAX_NAME)
        else:
            owner = self.tokens.get(translate.bearer(authorization) or "")
            if owner is None:
                raise BadRequest(401, "a valid token is required (Authorization: Bearer ...)")
            if given is not None and given != owner:
                raise BadRequest(403, "the token belongs to someone else")
            user = owner
        if translate.looks_like(user, self.self_id):
            raise BadRequest(403, "that name is (or looks like) the bot's")
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
            room = translate.name(data.get("room"), "room", MAX_ROOM)
            text = translate.text(data.get("text"))
            thread = translate.thread_id(data.get("thread"))
            await self._may_read(room, user)
        except BadRequest as exc:
            return JSONResponse({"error": exc.reason}, status_code=exc.status)
        m = await self._store(room, user, text, thread)
        await self._deliver_inbound(m, spoken(request))
        return JSONResponse({"id": str(m.id)}, status_code=201)

    async def _deliver_inbound(self, m: Posted, locale: str | None) -> None:
        if self._sink is not None:
            await self._sink(translate.inbound(m, locale))

    async def _find_message(self, data: dict[str, Any]) -> WebMessage:
        mid = translate.message_id(data.get("message"))
        async with self.db.reader() as s:
            m = await s.get(WebMessage, mid)
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
        """A button pressed, with the text of its form when it has one. That text is handed
        to the bot and never stored as a message (an anonymous answer is given this way);
        the event's id is random, so not even the bot's re-delivery record says who or when."""
        try:
            data, user, m = await self._about_message(request)
            action, value = data.get("action"), data.get("value")
            found = [
                b
                for b in map(button_json, m.buttons or [])
                if [b["action"], b["value"]] == [action, value]
            ]
            if not found:
                raise BadRequest(400, "that message has no such button")
            text = form_text(found[0].get("form"), data.get("text"))
        except BadRequest as exc:
            return JSONResponse({"error": exc.reason}, status_code=exc.status)
        if self._sink is not None:
            await self._sink(
                ButtonPressed(
                    event_id=EventId(f"btn-{uuid.uuid4().hex}"),
                    actor=Actor(PLATFORM, UserId(user), user, locale=spoken(request)),
                    place=place_of(m.room, m.thread),
                    message_id=MessageId(str(m.id)),
                    action=str(action),
                    value=str(value),
                    text=text,
                )
            )
        return JSONResponse({"ok": True})

    async def _react(self, request: Request) -> Response:
        try:
            data, user, m = await self._about_message(request)
            key = translate.name(data.get("key"), "key", MAX_REACTION)
        except BadRequest as exc:
            return JSONResponse({"error": exc.reason}, status_code=exc.status)
        if self._sink is not None:
            await self._sink(
                ReactionAdded(
                    event_id=EventId(f"react-{m.id}-{user}-{key}"),
                    actor=Actor(PLATFORM, UserId(user), user, locale=spoken(request)),
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
            room = translate.name(request.query_params.get("room"), "room", MAX_ROOM)
            after = translate.after(request.query_params.get("after"))
            await self._may_read(room, user)
        except BadRequest as exc:
            return JSONResponse({"error": exc.reason}, status_code=exc.status)
        return JSONResponse({"messages": await self._since(room, after)})

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
        return [self._json(m) for m in rows]

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
            room = translate.name(ws.query_params.get("room"), "room", MAX_ROOM)
            after = translate.after(ws.query_params.get("after"))
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
            for m in await self._since(room, after):
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
