"""A recording adapter for tests: it performs nothing and remembers everything.

It answers like a platform with whatever capabilities a test declares, so the core's planning
around missing capabilities can be tested, and it can be told to fail the next sends.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from adapters.contract import (
    Action,
    ActionResult,
    Actor,
    Capability,
    CloseSubSpace,
    Destination,
    Direct,
    Done,
    EditMessage,
    InboundSink,
    MessageId,
    NativePublished,
    OpenSubSpace,
    Place,
    PlatformName,
    PublishNativeEvent,
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

ALL_CAPABILITIES = frozenset(Capability) - {
    Capability.ONE_RECEIVER,
    Capability.TOPICS,
    Capability.THREAD_BROADCAST,
}
"""Everything a chat platform can do: one receiving connection is a limit, not an ability,
and `TOPICS` (a forum's shape) and `THREAD_BROADCAST` (Slack's) are opted into by name."""


@dataclass(frozen=True)
class Record:
    action: Action
    result: ActionResult

    @property
    def text(self) -> str:
        if isinstance(self.action, SendMessage | EditMessage):
            return plain_text(self.action.text)
        return ""

    @property
    def to(self) -> Destination | None:
        if isinstance(self.action, SendMessage):
            return self.action.to
        return None


class FakeAdapter:
    def __init__(
        self,
        platform: str = "fake",
        capabilities: Iterable[Capability] = ALL_CAPABILITIES,
        *,
        self_id: str = "bot",
        send_rate: SendRate | None = None,
        command_prefix: str = "!",
        max_text: int = 100_000,
    ) -> None:
        self.platform = PlatformName(platform)
        self.command_prefix = command_prefix
        self.max_text = max_text
        self.capabilities = frozenset(capabilities)
        self.self_id = UserId(self_id)
        self.send_rate = send_rate or SendRate(10_000.0, 10_000)
        self.records: list[Record] = []
        self.present_users: dict[str, list[str]] = {}
        self._failures: deque[Exception] = deque()
        self._ids = 0
        self._done: dict[str, ActionResult] = {}
        self.sink: InboundSink | None = None

    async def start(self, sink: InboundSink) -> None:
        self.sink = sink

    async def stop(self) -> None:
        self.sink = None

    def fail_next(self, *errors: Exception) -> None:
        """The next sends raise these, in order (a rate limit, a 500, a lost connection)."""
        self._failures.extend(errors)

    def _next_id(self) -> str:
        self._ids += 1
        return f"m{self._ids}"

    async def perform(self, action: Action) -> ActionResult:
        require(self, action)
        if self._failures:
            raise self._failures.popleft()
        if Capability.IDEMPOTENT_SEND in self.capabilities and action.key in self._done:
            return self._done[action.key]  # a retried key is the same action, not a new one
        result: ActionResult
        if isinstance(action, SendMessage):
            mid = self._next_id()
            if isinstance(action.to, Direct):
                place = Place(self.platform, SpaceId(f"dm-{action.to.user_id}"), direct=True)
            else:
                place = action.to
            thread = ThreadId(mid) if Capability.THREADS in self.capabilities else None
            result = Sent(MessageId(mid), place, thread)
        elif isinstance(action, OpenSubSpace):
            result = SubSpaceOpened(
                Place(self.platform, SpaceId(f"{action.parent.space}/{action.name}"))
            )
        elif isinstance(action, EditMessage):
            result = Sent(action.message_id, action.place)
        elif isinstance(action, CloseSubSpace):
            result = Done()
        elif isinstance(action, PublishNativeEvent):
            result = NativePublished(action.native_id or f"native-{self._next_id()}")
        else:
            raise TypeError(f"unknown action {action!r}")
        self.records.append(Record(action, result))
        self._done[action.key] = result
        return result

    async def present(self, place: Place) -> Sequence[Actor]:
        return [Actor(self.platform, UserId(u), u) for u in self.present_users.get(place.space, [])]

    # --- what tests read ------------------------------------------------------------------

    def texts(self, to: Destination | None = None) -> list[str]:
        """Texts sent, optionally only those sent to one destination."""
        return [r.text for r in self.records if r.text and (to is None or r.to == to)]

    def direct_texts(self, user: str) -> list[str]:
        return self.texts(Direct(self.platform, UserId(user)))
