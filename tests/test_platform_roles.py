"""A role the platform gives (`Actor.role`, e.g. Slack workspace admins as organisers) is a
floor: it raises a member's role, never lowers one given with `role`."""

from __future__ import annotations

import dataclasses

from adapters.contract import Actor, CommandInvoked
from bot.testing import Harness


def as_platform(event: CommandInvoked, role: str | None) -> CommandInvoked:
    actor = event.actor
    return dataclasses.replace(
        event, actor=Actor(actor.platform, actor.user_id, actor.display_name, role)
    )


async def test_a_platform_role_raises_but_never_lowers(harness: Harness) -> None:
    refused = await harness.say("bea", "nudge failures")
    assert any("organiser" in text for text in refused), refused

    await harness.feed(as_platform(harness.command("bea", "nudge failures"), "organiser"))
    allowed = await harness.say("bea", "nudge failures")
    assert not any("needs the organiser role" in text for text in allowed), allowed

    await harness.say("cal", "help")
    changed = await harness.say("ada", "role catalyst cal")  # ada is an organiser by config
    assert any("now a catalyst" in text for text in changed), changed
    await harness.feed(as_platform(harness.command("cal", "help"), "member"))
    helped = await harness.say("cal", "help")
    assert any("as a catalyst" in text for text in helped), "a lower platform role changes nothing"
