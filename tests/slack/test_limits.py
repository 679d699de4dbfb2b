"""The pacer's schedules on a clock the test moves: bursts, steady rates, 429s, patience."""

from __future__ import annotations

import pytest

from adapters.slack.limits import Pacer

pytestmark = pytest.mark.slack


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def delays(pacer: Pacer, method: str, n: int, channel: str | None = None) -> list[float | None]:
    return [pacer.delay(method, channel) for _ in range(n)]


def test_a_tier_lets_a_short_burst_go_then_keeps_its_rate() -> None:
    pacer = Pacer(Clock())
    assert delays(pacer, "conversations.create", 4) == [0.0, 0.0, 3.0, 6.0]  # Tier 2: 20/min
    assert delays(pacer, "users.info", 11)[-3:] == pytest.approx([0.6, 1.2, 1.8])  # Tier 4
    assert delays(pacer, "apps.connections.open", 3) == [0.0, 0.0, 60.0]  # Tier 1


def test_each_method_has_its_own_schedule_and_an_unlisted_one_tier_2() -> None:
    pacer = Pacer(Clock())
    delays(pacer, "conversations.create", 2)
    assert pacer.delay("conversations.archive") == 0.0
    assert delays(pacer, "reactions.add", 3) == [0.0, 0.0, 3.0]


def test_messages_go_one_a_second_in_each_channel() -> None:
    clock = Clock()
    pacer = Pacer(clock)
    assert delays(pacer, "chat.postMessage", 3, "C1") == [0.0, 1.0, 2.0]
    assert pacer.delay("chat.postMessage", "C2") == 0.0
    clock.now += 10
    assert pacer.delay("chat.postMessage", "C1") == 0.0


def test_a_429_holds_the_schedule_for_its_retry_after() -> None:
    clock = Clock()
    pacer = Pacer(clock)
    pacer.hold("chat.postEphemeral", None, 7.0)
    assert pacer.delay("chat.postEphemeral") == 7.0
    pacer.hold("chat.postMessage", "C1", 2.0)
    assert pacer.delay("chat.postMessage", "C1") == 2.0
    assert pacer.delay("chat.postMessage", "C2") == 0.0


def test_a_form_that_would_open_after_its_trigger_expired_is_refused_at_once() -> None:
    pacer = Pacer(Clock())
    waits = delays(pacer, "views.open", 13)
    assert waits[:8] == pytest.approx([0.0] * 8) and waits[10] == pytest.approx(1.8)
    assert waits[11:] == [None, None], "past two seconds a trigger is no use"
    assert pacer.delay("views.open") is None, "a refusal takes no slot"
