"""The Slack adapter: slack-bolt's AsyncApp in Socket Mode or HTTP mode, and the Web API.

This is the thin I/O layer; `adapters.slack.translate` decides what every payload means and
what every request says. Every listener acknowledges first (inside Slack's 3 seconds) and
works after: bolt answers the envelope or the HTTP request as soon as `ack()` is called and
lets the listener finish in the background.

Sending keeps to Slack's limits: the outbox's bucket holds the workspace-wide message rate
(`[slack] messages_per_minute`), and every Web API call waits for its slot under its method's
tier, or its channel's one message a second (`adapters.slack.limits`). A 429 still becomes a
`PlatformError` with Slack's `Retry-After`, and the outbox waits. Slack has no idempotency
key, so the adapter remembers each action key's message (`AdapterState`, kept two days): a
retried outbox row gets the first attempt's message back instead of a second one.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from adapters.contract import (
    Action,
    ActionResult,
    Actor,
    Capability,
    CloseSubSpace,
    Direct,
    Done,
    EditMessage,
    Inbound,
    InboundSink,
    MessageId,
    OpenSubSpace,
    Place,
    SendMessage,
    SendRate,
    Sent,
    SpaceId,
    SubSpaceOpened,
    ThreadId,
    UserId,
    require,
)
from adapters.slack.limits import PacedWebClient, Pacer
from adapters.slack.translate import (
    MAX_TEXT,
    PLATFORM,
    SLASH_COMMANDS,
    Directory,
    Pressed,
    Wording,
    block_action,
    channel_name,
    event_to_inbound,
    form_metadata,
    message_args,
    modal_view,
    platform_error,
    slash_command,
    view_submission,
)
from adapters.state import AdapterMemory
from adapters.webhook import SignedWebhook, hmac_sha256_ok
from bot.config import SLACK_DEFAULT_NAMES, Config, Secret
from bot.db import Database
from bot.errors import PlatformError

log = logging.getLogger(__name__)

SENT_KEEP_S = 2 * 24 * 3600
"""How long an action key's message is remembered: far longer than any outbox retry."""
SIGNATURE_WINDOW_S = 300
"""Slack's replay window: a request signed more than five minutes ago is refused."""
CLOSING_NOTE = "This breakout is over; the channel is archived. Thank you!"
NAME_CACHE = 5000
ROLES_REFRESH_S = 300.0
"""How often the catalysts' user group is read again."""


def verify_signature(
    secret: str, headers: Mapping[str, str], body: bytes, now: float
) -> str | None:
    """Slack's v0 request signature: None when good, else a short reason (never the secret).

    `v0=HMAC-SHA256(secret, "v0:<X-Slack-Request-Timestamp>:<body>")` in
    `X-Slack-Signature`; a timestamp more than five minutes from now is a replay.
    """
    stamp = headers.get("x-slack-request-timestamp")
    given = headers.get("x-slack-signature")
    if not stamp or not given:
        return "missing signature headers"
    try:
        sent_at = int(stamp)
    except ValueError:
        return "bad timestamp"
    if abs(now - sent_at) > SIGNATURE_WINDOW_S:
        return "timestamp outside the 5-minute window"
    if not hmac_sha256_ok(secret.encode(), f"v0:{stamp}:".encode() + body, given, "v0="):
        return "signature mismatch"
    return None


def event_delivery_id(headers: Mapping[str, str], body: bytes) -> str | None:
    """An Events API callback's `event_id`, the same on each of Slack's retries of it
    (`X-Slack-Retry-Num`); commands and interactions are not retried and have none."""
    if not body.startswith(b"{"):
        return None
    try:
        event_id = json.loads(body).get("event_id")
    except (ValueError, AttributeError):
        return None
    return event_id if isinstance(event_id, str) else None


class SlackAdapter:
    """Slack through slack-bolt; see the module docstring for the limits it keeps."""

    platform = PLATFORM
    command_prefix = "/"
    max_text = MAX_TEXT

    def __init__(
        self,
        db: Database,
        *,
        bot_token: Secret,
        app_token: Secret | None = None,
        signing_secret: Secret | None = None,
        mode: str = "socket",
        base_url: str | None = None,
        commands: Mapping[str, str] | None = None,
        breakouts: str = "channels",
        messages_per_minute: int = 300,
        http_path: str = "/slack",
        organisers_from_admins: bool = False,
        catalyst_usergroup: str | None = None,
    ) -> None:
        if mode not in ("socket", "http"):
            raise ValueError(f"unknown Slack mode {mode!r}")
        if mode == "socket" and app_token is None:
            raise ValueError("Socket Mode needs an app-level token")
        if mode == "http" and signing_secret is None:
            raise ValueError("HTTP mode needs the signing secret")
        self.memory = AdapterMemory(db, PLATFORM)
        self.mode = mode
        self.http_path = http_path.rstrip("/")
        self.breakouts = breakouts
        self._app_token = app_token
        self._signing_secret = signing_secret
        self._api = f"{base_url.rstrip('/')}/" if base_url else "https://slack.com/api/"
        self.client = PacedWebClient(Pacer(), token=bot_token.reveal(), base_url=self._api)
        self.commands = {
            word: SLACK_DEFAULT_NAMES.get(word, f"/{word}") for word in SLASH_COMMANDS
        } | dict(commands or {})
        caps = {
            Capability.THREADS,
            Capability.PRIVATE_SUBSPACES,
            Capability.DIRECT_MESSAGES,
            Capability.BUTTONS,
            Capability.EDITS,
            Capability.REACTIONS,
            Capability.PRESENCE,
            Capability.IDEMPOTENT_SEND,
            Capability.MODALS,
            Capability.THREAD_BROADCAST,
        }
        self.capabilities = frozenset(caps)
        per_second = messages_per_minute / 60
        self.send_rate = SendRate(per_second, max(2, int(per_second * 2)))
        self.self_id = UserId("")
        self._self_name = ""
        self._sink: InboundSink | None = None
        self._app: AsyncApp | None = None
        self._socket: Any = None
        self._names: dict[str, str] = {}
        self._locales: dict[str, str] = {}
        """user id -> the language their Slack is set to, for those resolved so far."""
        self.organisers_from_admins = organisers_from_admins
        self.catalyst_usergroup = catalyst_usergroup
        self._admins: set[str] = set()
        self._catalysts: frozenset[str] = frozenset()
        self._catalysts_at = float("-inf")
        self._dm: dict[str, str] = {}
        self._channels: set[str] = set()
        """Breakout channels the bot opened: named in its text, they become links."""
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    @property
    def thread_command_prefix(self) -> str:
        """Slack runs no slash command in a thread: there people mention the bot."""
        return f"@{self._self_name} "

    @classmethod
    def from_config(cls, config: Config, db: Database) -> SlackAdapter:
        section = config.model.slack
        assert section is not None
        socket = section.mode == "socket"
        return cls(
            db,
            bot_token=config.secret(section.bot_token_env),
            app_token=config.secret(section.app_token_env) if socket else None,
            signing_secret=None if socket else config.secret(section.signing_secret_env),
            mode=section.mode,
            base_url=section.api_url,
            commands=section.command_names(),
            breakouts=section.breakouts,
            messages_per_minute=section.messages_per_minute,
            organisers_from_admins=section.organisers_from_admins,
            catalyst_usergroup=section.catalyst_usergroup,
        )

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self, sink: InboundSink) -> None:
        self._sink = sink
        # One connection pool for every call (slack-sdk opens a session per call otherwise:
        # a new TLS handshake for each message).
        self.client.session = aiohttp.ClientSession()
        try:
            await self._connect()
        except BaseException:
            await self.stop()
            raise
        log.info("slack: connected as %s (%s mode)", self.self_id, self.mode)

    async def _connect(self) -> None:
        auth = await self._call("checking the bot token", self.client.auth_test)
        self.self_id = UserId(str(auth["user_id"]))
        self._self_name = str(auth.get("user") or "")
        await self._forget_old_sends()
        self._channels.update((await self.memory.with_prefix("subspace:")).values())
        self._app = self._build_app(auth)
        if self.mode == "socket":
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            assert self._app_token is not None
            self._socket = AsyncSocketModeHandler(
                self._app,
                self._app_token.reveal(),
                web_client=PacedWebClient(self.client.pacer, base_url=self._api),
            )
            await self._socket.connect_async()

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None
        if self.client.session is not None:
            await self.client.session.close()
            self.client.session = None

    def _build_app(self, auth: AsyncSlackResponse) -> AsyncApp:
        # Bolt's authorisation is the `auth.test` made at start: left to itself, bolt makes
        # one (unpaced) for each of the first requests that arrive together.
        authorized = AuthorizeResult.from_auth_test_response(
            bot_token=self.client.token, auth_test_response=auth
        )

        async def authorize() -> AuthorizeResult:
            return authorized

        app = AsyncApp(
            client=PacedWebClient(self.client.pacer, base_url=self._api),
            authorize=authorize,
            request_verification_enabled=False,  # HTTP mode verifies at the edge, see below
            ssl_check_enabled=False,
        )
        everything = re.compile(".*")
        app.event(everything)(self._on_event)
        app.command(everything)(self._on_command)
        app.action(everything)(self._on_action)
        app.view(everything)(self._on_view)
        return app

    # --- receiving ------------------------------------------------------------------------

    def _wording(self) -> Wording:
        return Wording(self.commands, frozenset(self._channels))

    def _directory(self) -> Directory:
        commands = {name.lower(): word for word, name in self.commands.items()}
        roles = dict.fromkeys(self._catalysts, "catalyst") | dict.fromkeys(
            self._admins, "organiser"
        )
        return Directory(self.self_id, self._names, commands, roles, self._locales)

    async def _deliver(self, event: Inbound | None) -> None:
        if event is None or self._sink is None:
            return
        await self._sink(event)

    async def _on_event(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        event = body.get("event") or {}
        await self._learn_names(event.get("user"), (event.get("message") or {}).get("user"))
        await self._deliver(event_to_inbound(body, self._directory()))

    async def _on_command(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        await self._learn_names(body.get("user_id"))
        await self._deliver(slash_command(body, self._directory()))

    async def _on_action(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        first = block_action(body, self._directory())
        if first is not None and first.button.form is not None:
            await self._open_form(first)  # at once: the press's trigger lives three seconds
        await self._learn_names((body.get("user") or {}).get("id"))
        pressed = block_action(body, self._directory())  # with the presser's name and role
        if pressed is not None and pressed.button.form is None:
            await self._deliver(pressed.inbound())

    async def _open_form(self, pressed: Pressed) -> None:
        """Open the button's form at once: the press's `trigger_id` lives three seconds."""
        assert pressed.button.form is not None
        form = pressed.button.form
        view = modal_view(form.title, form.label, form.max_length, form_metadata(pressed))
        await self._call(
            "opening a form",
            lambda: self.client.views_open(trigger_id=pressed.trigger_id, view=view),
        )

    async def _on_view(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        await self._learn_names((body.get("user") or {}).get("id"))
        submitted = view_submission(body, self._directory())
        if submitted is not None:
            pressed, text = submitted
            await self._deliver(pressed.inbound(text))

    async def _learn_names(self, *user_ids: Any) -> None:
        await self._refresh_catalysts()
        for user_id in user_ids:
            if isinstance(user_id, str) and user_id not in self._names:
                await self._name(user_id)

    async def _name(self, user_id: str) -> str:
        """A person's display name (and language), from `users.info` once, then from the
        cache."""
        known = self._names.get(user_id)
        if known is not None:
            return known
        try:
            found = await self.client.users_info(user=user_id, include_locale=True)
            user = found.get("user") or {}
            profile = user.get("profile") or {}
            name = profile.get("display_name") or user.get("real_name") or user.get("name")
        except SlackApiError as exc:
            log.info("slack: cannot resolve %s: %s", user_id, exc.response.get("error"))
            return user_id
        if self.organisers_from_admins and (user.get("is_admin") or user.get("is_owner")):
            self._admins.add(user_id)
        if len(self._names) >= NAME_CACHE:
            oldest = next(iter(self._names))
            del self._names[oldest]
            self._locales.pop(oldest, None)
        self._names[user_id] = str(name or user_id)
        if isinstance(user.get("locale"), str):
            self._locales[user_id] = user["locale"]
        return self._names[user_id]

    async def _refresh_catalysts(self) -> None:
        """The catalysts' user group's members, read again every few minutes."""
        now = time.monotonic()
        if self.catalyst_usergroup is None or now - self._catalysts_at < ROLES_REFRESH_S:
            return
        self._catalysts_at = now
        try:
            found = await self.client.usergroups_users_list(usergroup=self.catalyst_usergroup)
        except SlackApiError as exc:
            log.warning("slack: cannot read the catalysts' group: %s", exc.response.get("error"))
            return
        self._catalysts = frozenset(str(u) for u in found.get("users") or ())

    # --- HTTP mode ------------------------------------------------------------------------

    def http_routes(self) -> list[BaseRoute]:
        """Events, slash commands and interactions, each signed by Slack (HTTP mode only)."""
        if self.mode != "http":
            return []
        webhook = SignedWebhook(
            "slack", verify=self.verify, receive=self.receive, delivery_id=event_delivery_id
        )
        return [
            webhook.route(f"{self.http_path}/{kind}")
            for kind in ("events", "commands", "interactions")
        ]

    def verify(self, headers: Mapping[str, str], body: bytes) -> str | None:
        assert self._signing_secret is not None
        return verify_signature(self._signing_secret.reveal(), headers, body, time.time())

    async def receive(self, headers: Mapping[str, str], body: bytes) -> Response:
        """Hand a verified request to bolt; bolt answers once the listener acknowledged."""
        from slack_bolt.request.async_request import AsyncBoltRequest

        if self._app is None:
            return JSONResponse({"error": "the bot is starting"}, 503)
        request = AsyncBoltRequest(body=body.decode("utf-8", "replace"), headers=dict(headers))
        answer = await self._app.async_dispatch(request)
        content_type = (answer.headers.get("content-type") or ["text/plain"])[0]
        return Response(answer.body, answer.status, media_type=content_type)

    # --- sending --------------------------------------------------------------------------

    async def _call(
        self,
        what: str,
        call: Callable[[], Awaitable[Any]],
        tolerate: frozenset[str] = frozenset(),
    ) -> Any:
        """Make a Web API call; Slack's error becomes our `PlatformError` (with `Retry-After`
        on a 429), except the error codes in `tolerate`, which give None."""
        try:
            return await call()
        except SlackApiError as exc:
            response = exc.response
            error = response.get("error") if isinstance(response.data, dict) else None
            if error in tolerate:
                return None
            raise platform_error(
                what,
                error,
                response.status_code,
                response.headers.get("Retry-After") or response.headers.get("retry-after"),
            ) from None

    async def perform(self, action: Action) -> ActionResult:
        require(self, action)
        if isinstance(action, SendMessage):
            return await self._once(action.key, lambda: self._send(action))
        if isinstance(action, EditMessage):
            return await self._edit(action)
        if isinstance(action, OpenSubSpace):
            return await self._open(action)
        if isinstance(action, CloseSubSpace):
            return await self._close(action)
        raise PlatformError(f"slack cannot perform {type(action).__name__}", permanent=True)

    async def _once(self, key: str, send: Callable[[], Awaitable[Sent]]) -> Sent:
        """Send unless this key was sent before; then answer with that first message."""
        ref = f"sent:{key}"
        async with self._locks[ref]:
            known = await self.memory.get(ref)
            if known is not None:
                data = json.loads(known)
                place = Place(PLATFORM, SpaceId(data["c"]), _thread(data["t"]), data["d"])
                return Sent(MessageId(data["m"]), place, _thread(data["r"]))
            sent = await send()
            value = {
                "c": sent.place.space,
                "t": sent.place.thread,
                "d": sent.place.direct,
                "m": sent.message_id,
                "r": sent.thread,
                "at": int(time.time()),
            }
            try:
                await self.memory.put(ref, json.dumps(value, separators=(",", ":")))
            except Exception:  # it was sent: failing the row now would send it again
                log.exception("slack: could not remember the message for %s", key)
            return sent

    async def _forget_old_sends(self) -> None:
        cutoff = time.time() - SENT_KEEP_S
        for key, value in (await self.memory.with_prefix("sent:")).items():
            if json.loads(value).get("at", 0) < cutoff:
                await self.memory.forget(f"sent:{key}")

    async def _send(self, action: SendMessage) -> Sent:
        to = action.to
        if isinstance(to, Direct) and to.near is not None and not to.near.direct:
            shown = await self._ephemeral(to.user_id, to.near, action)
            if shown is not None:
                return shown
        channel = to.space if isinstance(to, Place) else self._dm.get(to.user_id, to.user_id)
        thread = to.thread if isinstance(to, Place) else None
        args = message_args(
            channel,
            action.text,
            action.buttons,
            thread,
            self._wording(),
            broadcast=action.broadcast,
        )
        posted = await self._call("sending a message", lambda: self.client.chat_postMessage(**args))
        real = str(posted["channel"])
        if isinstance(to, Direct):
            self._dm[to.user_id] = real  # the DM's id: the next one is paced per channel
        ts = str(posted["ts"])
        direct = real.startswith("D") or (isinstance(to, Place) and to.direct)
        place = Place(PLATFORM, SpaceId(real), _thread(thread), direct)
        return Sent(MessageId(ts), place, ThreadId(thread or ts))

    async def _ephemeral(self, user: str, near: Place, action: SendMessage) -> Sent | None:
        """Show a private answer to `user` only, where they spoke (`chat.postEphemeral`);
        None when Slack cannot (the bot is not in that channel), so it goes by DM."""
        args = message_args(near.space, action.text, action.buttons, near.thread, self._wording())
        args.pop("unfurl_links"), args.pop("unfurl_media")
        shown = await self._call(
            "answering privately",
            lambda: self.client.chat_postEphemeral(user=user, **args),
            tolerate=frozenset({"not_in_channel", "channel_not_found", "user_not_in_channel"}),
        )
        if shown is None:
            return None
        return Sent(MessageId(str(shown["message_ts"])), near, near.thread)

    async def _edit(self, action: EditMessage) -> Sent:
        args = message_args(action.place.space, action.text, wording=self._wording())
        mrkdwn = args["text"]
        await self._call(
            "editing a message",
            lambda: self.client.chat_update(
                channel=action.place.space,
                ts=action.message_id,
                text=mrkdwn,
                blocks=args["blocks"],
            ),
        )
        return Sent(action.message_id, action.place, action.place.thread)

    async def _open(self, action: OpenSubSpace) -> SubSpaceOpened:
        """A private channel (or a thread, per config) for a group; the same parent and name
        again invites newcomers to the one it made."""
        parent = action.parent
        ref = "subspace:" + hashlib.sha256(f"{parent.space}\n{action.name}".encode()).hexdigest()
        async with self._locks[ref]:
            known = await self.memory.get(ref)
            if self.breakouts == "threads":
                if known is None:
                    root = await self._send(
                        SendMessage(key=action.key, to=parent.top(), text=(action.name,))
                    )
                    known = str(root.message_id)
                    await self.memory.put(ref, known)
                return SubSpaceOpened(Place(PLATFORM, parent.space, ThreadId(known)))
            if known is None:
                created = await self._call(
                    "creating a breakout channel",
                    lambda: self.client.conversations_create(
                        name=channel_name(parent.space, action.name), is_private=True
                    ),
                )
                known = str(created["channel"]["id"])
                await self.memory.put(ref, known)
                self._channels.add(known)
            await self._invite_missing(known, action.members)
        return SubSpaceOpened(Place(PLATFORM, SpaceId(known)))

    async def _invite_missing(self, channel: str, members: Sequence[str]) -> None:
        present = {a.user_id for a in await self._members(channel)}
        missing = [m for m in dict.fromkeys(members) if m not in present and m != self.self_id]
        if missing:
            await self._call(
                "inviting to a breakout channel",
                lambda: self.client.conversations_invite(channel=channel, users=",".join(missing)),
            )

    async def _close(self, action: CloseSubSpace) -> Done:
        place = action.place
        note = SendMessage(key=f"{action.key}:note", to=place, text=(CLOSING_NOTE,))
        if place.thread is not None:
            await self._once(note.key, lambda: self._send(note))
            return Done()
        info = await self._call(
            "reading a breakout channel",
            lambda: self.client.conversations_info(channel=place.space),
        )
        if (info.get("channel") or {}).get("is_archived"):
            return Done()  # a retry after archiving
        await self._once(note.key, lambda: self._send(note))
        await self._call(
            "archiving a breakout channel",
            lambda: self.client.conversations_archive(channel=place.space),
            tolerate=frozenset({"already_archived"}),
        )
        return Done()

    async def _members(self, channel: str) -> list[Actor]:
        found: list[str] = []
        cursor: str | None = None

        async def page(cursor: str | None) -> Any:
            return await self._call(
                "listing a channel's members",
                lambda: self.client.conversations_members(
                    channel=channel, limit=200, cursor=cursor
                ),
            )

        while True:
            listed = await page(cursor)
            found += [str(m) for m in listed.get("members") or ()]
            cursor = (listed.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                break
        return [Actor(PLATFORM, UserId(m), await self._name(m)) for m in found if m != self.self_id]

    async def present(self, place: Place) -> Sequence[Actor]:
        """The channel's members other than the bot."""
        return await self._members(place.space)


def _thread(value: str | None) -> ThreadId | None:
    return ThreadId(value) if value else None
