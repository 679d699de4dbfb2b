"""The Matrix adapter: a /sync loop and the outbound actions, on matrix-nio's AsyncClient.

This is the thin I/O layer; `adapters.matrix.translate` decides what every event means and
what every request says. What must survive a restart lives in the core's `AdapterState`
table: the sync token (so nothing is replayed or missed), the device id (so transaction ids
keep de-duplicating and an E2E store keeps matching), each member's DM room and each opened
breakout room.

nio is told never to sleep on a rate limit itself (`max_limit_exceeded=0`): a 429 becomes a
`PlatformError` with `retry_after`, and the delivery outbox waits and retries the row.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from nio import (
    AsyncClient,
    AsyncClientConfig,
    ErrorResponse,
    JoinedMembersResponse,
    JoinError,
    LoginResponse,
    MessageDirection,
    RoomCreateResponse,
    RoomGetEventResponse,
    RoomGetStateEventResponse,
    RoomMessagesResponse,
    RoomPreset,
    RoomResolveAliasResponse,
    RoomSendResponse,
    SyncResponse,
    WhoamiResponse,
)
from nio.exceptions import LocalProtocolError

from adapters.contract import (
    Action,
    ActionResult,
    Actor,
    Capability,
    CloseSubSpace,
    Destination,
    Done,
    EditMessage,
    EventId,
    InboundSink,
    MemberJoined,
    MemberLeft,
    MessageId,
    MessageReceived,
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
from adapters.matrix.translate import (
    PLATFORM,
    RoomView,
    archived_name,
    edit_content,
    left_user,
    localpart,
    message_content,
    platform_error,
    read_invite,
    relation_of,
    server_name,
    since_bot_arrived,
    subspace_request,
    to_inbound,
    txn_id,
)
from adapters.state import AdapterMemory
from bot.config import Config, Secret
from bot.db import Database
from bot.delivery import TokenBucket
from bot.errors import ConfigError, PlatformError

log = logging.getLogger(__name__)

#: Synapse's default `rc_message`: 0.2 messages a second with bursts of 10, per user.
DEFAULT_RATE = SendRate(per_second=0.2, burst=10)
#: With `override_ratelimit` Synapse stops counting; stay a polite client all the same.
EXEMPT_RATE = SendRate(per_second=20.0, burst=50)
CLOSING_NOTE = "This breakout has ended and the room is archived. Thank you all!"
#: Events fetched per room per sync; a longer gap is paged in with /messages.
TIMELINE_LIMIT = 50
#: A gap longer than this (the bot was down for a long time) is cut, not replayed whole.
MAX_BACKFILL = 1000
ROOM_WAIT_S = 30.0


MAX_TEXT = 8_000
"""Synapse refuses events over 64 KiB, and an event carries the text twice (`body` and its
HTML `formatted_body`), with JSON escapes: 8,000 characters stays under it for ordinary text."""


class MatrixAdapter:
    """One bot account on one homeserver."""

    platform = PLATFORM
    timeline_limit = TIMELINE_LIMIT
    capabilities = frozenset(
        {
            Capability.THREADS,
            Capability.PRIVATE_SUBSPACES,
            Capability.DIRECT_MESSAGES,
            Capability.EDITS,
            Capability.REACTIONS,
            Capability.IDEMPOTENT_SEND,
            Capability.PRESENCE,
            Capability.MEMBERSHIP,
            Capability.ONE_RECEIVER,
        }
    )

    def __init__(
        self,
        db: Database,
        *,
        homeserver: str,
        user_id: str,
        password: Secret | None = None,
        access_token: Secret | None = None,
        device_name: str = "community-bot",
        rooms: Sequence[str] = (),
        space: str | None = None,
        command_prefix: str = "!",
        e2e_store: Path | None = None,
        send_rate: SendRate = DEFAULT_RATE,
        sync_timeout_ms: int = 30_000,
    ) -> None:
        if not password and not access_token:
            raise ConfigError("matrix", "set password_env or access_token_env")
        self.self_id = UserId(user_id)
        self.send_rate = send_rate
        self.memory = AdapterMemory(db, PLATFORM)
        self.homeserver = homeserver
        self._password = password
        self._access_token = access_token
        self.device_name = device_name
        self.configured_rooms = tuple(rooms)
        self.configured_space = space
        self.command_prefix = command_prefix
        self.max_text = MAX_TEXT
        self.e2e_store = e2e_store
        self.sync_timeout_ms = sync_timeout_ms
        self.client: AsyncClient | None = None
        self.space_id: str | None = None
        self._allowed_rooms: set[str] = set()
        self._community_rooms: set[str] = set()
        """The configured rooms and space: who is in them is the community."""
        self._dm_rooms: dict[str, str] = {}
        self._sink: InboundSink | None = None
        self._task: asyncio.Task[None] | None = None
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._synced = asyncio.Condition()
        self._stopping = asyncio.Event()
        self._not_before_ms = 0
        self._requests: TokenBucket | None = None
        self._sync_failing = False

    @classmethod
    def from_config(cls, config: Config, db: Database) -> MatrixAdapter:
        section = config.model.matrix
        if section is None:
            raise ConfigError("matrix", "the [matrix] section is missing")

        if section.e2e and not e2e_available():
            raise ConfigError(
                "matrix.e2e",
                "encryption needs matrix-nio's E2E support: "
                "pip install 'community-bot[matrix-e2e]' (or set e2e = false)",
            )

        def secret(env: str | None) -> Secret | None:
            return config.secret(env) if env else None

        return cls(
            db,
            homeserver=section.homeserver,
            user_id=section.user_id,
            password=secret(section.password_env),
            access_token=secret(section.access_token_env),
            device_name=section.device_name,
            rooms=section.rooms,
            space=section.space,
            command_prefix=section.command_prefix,
            e2e_store=config.data_dir / "matrix-store" if section.e2e else None,
            send_rate=EXEMPT_RATE if section.exempt_from_rate_limit else DEFAULT_RATE,
        )

    @property
    def _nio(self) -> AsyncClient:
        if self.client is None:
            raise PlatformError("the Matrix adapter is not started")
        return self.client

    @property
    def _sync_filter(self) -> dict[str, Any]:
        return {"room": {"timeline": {"limit": self.timeline_limit}}}

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self, sink: InboundSink) -> None:
        """Log in, join the configured rooms, catch up since the last run, then keep syncing."""
        self._sink = sink
        self._stopping.clear()
        self.client = await self._login()
        self._dm_rooms = await self.memory.with_prefix("dm:")
        await self._join_configured()
        token = await self.memory.get("sync_token")
        if token is None:
            # Synapse answers a repeated initial sync from a cache (2 minutes by default), so
            # its position may be older than now: say outright that history is not ours.
            self._not_before_ms = int(time.time() * 1000)
        # Full state once per run, so nio knows every room's members and encryption again.
        first = await self._nio.sync(
            timeout=0, sync_filter=self._sync_filter, since=token, full_state=True
        )
        if not isinstance(first, SyncResponse):
            raise _error("sync", first)
        await self._report_roster()  # before the batch: a member's DM in it is a member's
        await self._process(first, since=token, replay=token is not None)
        self._task = asyncio.create_task(self._run(), name="matrix-sync")

    async def _report_roster(self) -> None:
        """Everyone in the community's rooms now is a member, whether or not they ever spoke
        (one event each per room; the core drops the repeats of later starts).

        The room's members are asked of the homeserver, not read from the first sync: a
        first sync may be Synapse's cached answer to an earlier one (it keeps them for two
        minutes), without the people who joined since."""
        assert self._sink is not None
        for room_id in sorted(self._community_rooms):
            found = await self._nio.joined_members(room_id)
            if not isinstance(found, JoinedMembersResponse):
                log.warning("matrix: cannot list the members of %s: %s", room_id, found)
                continue
            names = {m.user_id: m.display_name for m in found.members if m.display_name}
            names |= self._room_view(room_id).names
            for user_id in sorted(m.user_id for m in found.members):
                if user_id != self.self_id:
                    await self._sink(
                        MemberJoined(
                            event_id=EventId(f"roster:{room_id}:{user_id}"),
                            actor=Actor(
                                PLATFORM, UserId(user_id), names.get(user_id) or localpart(user_id)
                            ),
                            place=Place(PLATFORM, SpaceId(room_id)),
                        )
                    )

    @property
    def connected(self) -> bool:
        """The sync loop runs and its last /sync succeeded (`/readyz`)."""
        running = self._task is not None and not self._task.done()
        return running and not self._sync_failing

    async def stop(self) -> None:
        """Stop between batches: a batch being handled is finished and its token stored."""
        self._stopping.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self.client is not None:
            await self.client.close()
            self.client = None
        self._sink = None

    async def _login(self) -> AsyncClient:
        stored_device = await self.memory.get("device_id")
        client = AsyncClient(
            self.homeserver,
            self.self_id,
            device_id=stored_device,
            store_path=str(self.e2e_store) if self.e2e_store else "",
            config=AsyncClientConfig(
                max_limit_exceeded=0,
                max_timeouts=2,
                request_timeout=30,
                encryption_enabled=self.e2e_store is not None,
                store_sync_tokens=False,
            ),
        )
        if self.e2e_store is not None:
            await asyncio.to_thread(self.e2e_store.mkdir, parents=True, exist_ok=True)
        try:
            if self._access_token:
                token = self._access_token.reveal()
                client.access_token = token
                who = await client.whoami()
                if not isinstance(who, WhoamiResponse):
                    raise _error("login with the access token", who)
                if who.user_id != self.self_id:
                    raise ConfigError(
                        "matrix.user_id",
                        f"the access token belongs to {who.user_id}, not {self.self_id}",
                    )
                client.restore_login(who.user_id, who.device_id or "", token)
            else:
                assert self._password is not None
                login = await client.login(self._password.reveal(), device_name=self.device_name)
                if not isinstance(login, LoginResponse):
                    raise _error("login with the password", login)
        except BaseException:
            await client.close()
            raise
        if client.device_id and client.device_id != stored_device:
            await self.memory.put("device_id", client.device_id)
        return client

    async def _join_configured(self) -> None:
        """Join the configured rooms and space; one we cannot join yet waits for an invite."""
        for ref in self.configured_rooms:
            room_id = await self._resolve(ref)
            if room_id is not None:
                self._allowed_rooms.add(room_id)
                self._community_rooms.add(room_id)
                await self._join(room_id)
        if self.configured_space is not None:
            self.space_id = await self._resolve(self.configured_space)
            if self.space_id is not None:
                self._allowed_rooms.add(self.space_id)
                self._community_rooms.add(self.space_id)
                await self._join(self.space_id)

    async def _resolve(self, ref: str) -> str | None:
        if not ref.startswith("#"):
            return ref
        found = await self._nio.room_resolve_alias(ref)
        if isinstance(found, RoomResolveAliasResponse):
            return str(found.room_id)
        log.warning("matrix: cannot resolve the room alias %s: %s", ref, found)
        return None

    async def _join(self, room_id: str) -> None:
        joined = await self._nio.join(room_id)
        if isinstance(joined, JoinError):
            log.warning("matrix: cannot join %s yet (%s); waiting for an invite", room_id, joined)

    # --- receiving ------------------------------------------------------------------------

    async def _run(self) -> None:
        delay = 1.0
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            while not self._stopping.is_set():
                token = self._nio.next_batch
                sync = asyncio.ensure_future(
                    self._nio.sync(
                        timeout=self.sync_timeout_ms, sync_filter=self._sync_filter, since=token
                    )
                )
                await asyncio.wait({sync, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if not sync.done():
                    sync.cancel()  # only the long poll is abandoned, never a handled batch
                    await asyncio.gather(sync, return_exceptions=True)
                    return
                try:
                    await self._process(sync.result(), since=token, replay=True)
                    delay = 1.0
                    self._sync_failing = False
                except Exception:
                    self._sync_failing = True
                    log.exception("matrix: sync failed; retrying in %.0f s", delay)
                    self._nio.next_batch = token  # fetch the same batch again, not the next
                    await asyncio.wait({stopping}, timeout=delay)
                    delay = min(delay * 2, 60.0)
        finally:
            stopping.cancel()

    async def _process(self, response: Any, *, since: str | None, replay: bool) -> None:
        """Hand one sync batch to the core, then remember how far we got.

        `replay=False` (the very first start) skips the rooms' backlog: a bot added to a
        busy community must not answer last month's commands. The token is stored only
        after every event was handled, so a crash replays the batch (the core drops what it
        had already seen) rather than losing it.
        """
        if not isinstance(response, SyncResponse):
            raise _error("sync", response)
        for room_id, invited in response.rooms.invite.items():
            await self._on_invite(room_id, [_stripped(e) for e in invited.invite_state])
        if replay:
            for room_id, joined in response.rooms.join.items():
                events = [e.source for e in joined.timeline.events]
                if joined.timeline.limited and since is not None:
                    events = await self._gap(room_id, joined.timeline.prev_batch, since) + events
                await self._dispatch(room_id, since_bot_arrived(events, self.self_id))
        await self._e2e_chores()
        await self.memory.put("sync_token", response.next_batch)
        async with self._synced:
            self._synced.notify_all()

    async def _gap(self, room_id: str, start: str, until: str) -> list[dict[str, Any]]:
        """The events a limited timeline left out, oldest first, paged back to `until`."""
        found: list[dict[str, Any]] = []
        while len(found) < MAX_BACKFILL:
            page = await self._nio.room_messages(
                room_id, start=start, end=until, direction=MessageDirection.back, limit=100
            )
            if not isinstance(page, RoomMessagesResponse):
                raise _error("fetching missed messages", page)
            found.extend(e.source for e in page.chunk)
            if not page.chunk or not page.end or page.end == start:
                break
            start = page.end
        if len(found) >= MAX_BACKFILL:
            log.warning(
                "matrix: more than %d missed events in %s; older ones dropped",
                MAX_BACKFILL,
                room_id,
            )
        return found[::-1]

    async def _dispatch(self, room_id: str, events: Sequence[Mapping[str, Any]]) -> None:
        if not events or self._sink is None:
            return
        view = self._room_view(room_id)
        for event in events:
            if event.get("origin_server_ts", self._not_before_ms) < self._not_before_ms:
                continue  # said before the bot's very first start
            if event.get("type") == "m.room.encrypted":
                log.warning("matrix: cannot decrypt event %s in %s", event.get("event_id"), room_id)
                continue
            gone = left_user(event)
            if gone is not None and self._dm_rooms.get(gone) == room_id:
                await self._forget_dm(gone)  # the next DM to them opens a new room
            inbound = to_inbound(event, view, self_id=self.self_id, prefix=self.command_prefix)
            if (
                isinstance(inbound, MemberJoined | MemberLeft)
                and room_id not in self._community_rooms
            ):
                continue  # joining a DM or a breakout room makes nobody a member
            if isinstance(inbound, MessageReceived) and inbound.edits and not view.direct:
                inbound = await self._placed_as_original(room_id, inbound)
            if inbound is not None:
                await self._sink(inbound)

    async def _placed_as_original(self, room_id: str, edit: MessageReceived) -> MessageReceived:
        """An edit in the thread (or reply) of its original: the edit event says neither."""
        assert edit.edits is not None
        found = await self._nio.room_get_event(room_id, edit.edits)
        if not isinstance(found, RoomGetEventResponse):
            log.warning("matrix: cannot read the original of edit %s: %s", edit.event_id, found)
            return edit
        thread, replied = relation_of(found.event.source)
        place = Place(edit.place.platform, edit.place.space, thread, edit.place.direct)
        return replace(edit, place=place, replies_to=replied)

    def _room_view(self, room_id: str) -> RoomView:
        room = self._nio.rooms.get(room_id)
        names = (
            {uid: u.display_name for uid, u in room.users.items() if u.display_name}
            if room is not None
            else {}
        )
        return RoomView(room_id, room_id in self._dm_rooms.values(), names)

    async def _on_invite(self, room_id: str, invite_state: list[dict[str, Any]]) -> None:
        invite = read_invite(invite_state, self.self_id)
        wanted = {*self.configured_rooms, *filter(None, [self.configured_space])}
        if invite.direct and invite.inviter:
            await self._remember_dm(invite.inviter, room_id)
        elif room_id not in self._allowed_rooms and not (invite.aliases & wanted):
            log.info("matrix: ignoring an invite to %s from %s", room_id, invite.inviter)
            return
        else:
            self._community_rooms.add(room_id)
        self._allowed_rooms.add(room_id)
        await self._join(room_id)

    async def _remember_dm(self, user_id: str, room_id: str) -> None:
        self._dm_rooms[user_id] = room_id
        await self.memory.put(f"dm:{user_id}", room_id)

    async def _forget_dm(self, user_id: str) -> None:
        self._dm_rooms.pop(user_id, None)
        await self.memory.forget(f"dm:{user_id}")

    async def _e2e_chores(self) -> None:
        """Upload, query and claim keys and send to-device messages, as nio's sync_forever does."""
        client = self._nio
        if client.olm is None:
            return
        if client.should_upload_keys:
            await client.keys_upload()
        if client.should_query_keys:
            await client.keys_query()
        if client.should_claim_keys:
            await client.keys_claim(client.get_users_for_key_claiming())
        await client.send_to_device_messages()

    # --- sending --------------------------------------------------------------------------

    async def perform(self, action: Action) -> ActionResult:
        require(self, action)
        try:
            if isinstance(action, SendMessage):
                return await self._send_message(action)
            if isinstance(action, EditMessage):
                await self._send(
                    action.place.space, edit_content(action.message_id, action.text), action.key
                )
                return Sent(action.message_id, action.place, action.place.thread)
            if isinstance(action, OpenSubSpace):
                return await self._open(action)
            if isinstance(action, CloseSubSpace):
                return await self._close(action)
        except LocalProtocolError as exc:
            raise PlatformError(f"Matrix refused locally: {exc}", permanent=True) from exc
        raise PlatformError(f"matrix cannot perform {type(action).__name__}", permanent=True)

    async def _send_message(self, action: SendMessage) -> Sent:
        room_id, thread, direct = await self._destination(action.to)
        event_id = await self._send(room_id, message_content(action.text, thread), action.key)
        place = Place(PLATFORM, SpaceId(room_id), ThreadId(thread) if thread else None, direct)
        # Matrix threads do not nest: a message in a thread is answered in that same thread.
        return Sent(MessageId(event_id), place, ThreadId(thread or event_id))

    async def _destination(self, to: Destination) -> tuple[str, str | None, bool]:
        if isinstance(to, Place):
            return to.space, to.thread, to.space in self._dm_rooms.values()
        return await self._dm_room(to.user_id), None, True

    async def _paced(self) -> None:
        """Wait for a turn under the homeserver's limit, which counts a room's creation as a
        message: the outbox paces the actions, this paces the requests each one makes (a
        first DM is two), at the same rate."""
        if self._requests is None:
            self._requests = TokenBucket(self.send_rate.per_second, self.send_rate.burst // 2)
        await self._requests.take()

    async def _send(self, room_id: str, content: dict[str, Any], key: str) -> str:
        await self._paced()
        sent = await self._nio.room_send(
            room_id,
            "m.room.message",
            content,
            tx_id=txn_id(key, room_id),
            ignore_unverified_devices=True,
        )
        if not isinstance(sent, RoomSendResponse):
            raise _error("sending to a room", sent)
        return str(sent.event_id)

    async def _dm_room(self, user_id: str) -> str:
        """The user's DM room with the bot, created (and remembered) on first use."""
        async with self._locks[f"dm:{user_id}"]:
            room_id = self._dm_rooms.get(user_id)
            if room_id is not None:
                return room_id
            await self._paced()
            created = await self._nio.room_create(
                is_direct=True,
                invite=[user_id],
                preset=RoomPreset.trusted_private_chat,
                initial_state=self._encryption_state(),
            )
            if not isinstance(created, RoomCreateResponse):
                raise _error("creating a direct room", created)
            await self._remember_dm(user_id, created.room_id)
            await self._known_to_nio(created.room_id)
            return str(created.room_id)

    def _encryption_state(self) -> list[dict[str, Any]]:
        if self.e2e_store is None:
            return []
        return [
            {
                "type": "m.room.encryption",
                "state_key": "",
                "content": {"algorithm": "m.megolm.v1.aes-sha2"},
            }
        ]

    async def _known_to_nio(self, room_id: str) -> None:
        """With E2E on, nio encrypts only for rooms a sync has shown it: wait for that."""
        if self._nio.olm is None or self._task is None:
            return
        async with asyncio.timeout(ROOM_WAIT_S), self._synced:
            await self._synced.wait_for(lambda: room_id in self._nio.rooms)

    async def _open(self, action: OpenSubSpace) -> SubSpaceOpened:
        """A private room in the space; the same parent and name again invites newcomers.

        The room is remembered by parent and name (not by key), so a retried open finds it
        and a late joiner's open adds them to the room their group already has.
        """
        subspace = f"{action.parent.space}\n{action.name}"
        ref = "subspace:" + hashlib.sha256(subspace.encode()).hexdigest()[:32]
        async with self._locks[ref]:
            room_id = await self.memory.get(ref)
            server = server_name(self.self_id)
            if room_id is None:
                request = subspace_request(action.name, action.members, self.space_id, server)
                request["initial_state"] += self._encryption_state()
                created = await self._nio.room_create(preset=RoomPreset.private_chat, **request)
                if not isinstance(created, RoomCreateResponse):
                    raise _error("creating a breakout room", created)
                room_id = str(created.room_id)
                await self.memory.put(ref, room_id)
            else:
                await self._invite_missing(room_id, action.members)
        if self.space_id is not None:
            linked = await self._nio.room_put_state(
                self.space_id, "m.space.child", {"via": [server]}, state_key=room_id
            )
            if isinstance(linked, ErrorResponse):
                raise _error("adding the breakout room to the space", linked)
        return SubSpaceOpened(Place(PLATFORM, SpaceId(room_id)))

    async def _invite_missing(self, room_id: str, members: Sequence[str]) -> None:
        joined = await self._nio.joined_members(room_id)
        if isinstance(joined, ErrorResponse):
            raise _error("listing the breakout room's members", joined)
        present = {m.user_id for m in joined.members}
        for user_id in members:
            if user_id not in present:
                invited = await self._nio.room_invite(room_id, user_id)
                if isinstance(invited, ErrorResponse):
                    raise _error("inviting to the breakout room", invited)

    async def _close(self, action: CloseSubSpace) -> Done:
        """Take the room out of the space (an empty `m.space.child`: members no longer see it
        listed there), post a closing note, mark it archived in its name, and leave it."""
        room_id = action.place.space
        if self.space_id is not None:
            unlinked = await self._nio.room_put_state(
                self.space_id, "m.space.child", {}, state_key=room_id
            )
            if isinstance(unlinked, ErrorResponse):
                raise _error("taking the archived room out of the space", unlinked)
        me = await self._nio.room_get_state_event(room_id, "m.room.member", self.self_id)
        if not isinstance(me, RoomGetStateEventResponse) or me.content.get("membership") != "join":
            return Done()  # already left (a retry after leaving) or never there
        await self._send(room_id, message_content((CLOSING_NOTE,)), f"{action.key}:note")
        current = await self._nio.room_get_state_event(room_id, "m.room.name")
        name = (
            current.content.get("name") if isinstance(current, RoomGetStateEventResponse) else None
        )
        renamed = await self._nio.room_put_state(
            room_id, "m.room.name", {"name": archived_name(name)}
        )
        if isinstance(renamed, ErrorResponse):
            raise _error("renaming the archived room", renamed)
        left = await self._nio.room_leave(room_id)
        if isinstance(left, ErrorResponse):
            raise _error("leaving the archived room", left)
        return Done()

    async def present(self, place: Place) -> Sequence[Actor]:
        """The room's joined members other than the bot."""
        found = await self._nio.joined_members(place.space)
        if isinstance(found, ErrorResponse):
            raise _error("listing the room's members", found)
        return [
            Actor(PLATFORM, UserId(m.user_id), m.display_name or m.user_id)
            for m in found.members
            if m.user_id != self.self_id
        ]


def e2e_available() -> bool:
    """Whether nio can encrypt here (matrix-nio[e2e] brings vodozemac, a binary wheel)."""
    from nio.crypto import ENCRYPTION_ENABLED

    return bool(ENCRYPTION_ENABLED)


def _stripped(event: Any) -> dict[str, Any]:
    """An invite's stripped state event as sent: nio moves a member event's content out."""
    source = dict(event.source)
    source.setdefault("content", getattr(event, "content", None) or {})
    return source


def _error(what: str, response: Any) -> PlatformError:
    if isinstance(response, ErrorResponse):
        return platform_error(what, response.status_code, response.message, response.retry_after_ms)
    return PlatformError(f"Matrix {what} failed: {response!r}")
