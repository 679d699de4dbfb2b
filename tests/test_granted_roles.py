"""A platform role mapped to a community role (a Discord "Catalyst" role) lets its holder do
what that role may, and never takes a role away."""

from __future__ import annotations

import uuid

from adapters.contract import Actor, CommandInvoked, EventId, UserId
from bot.testing import Harness


def command(h: Harness, user: str, text: str, roles: tuple[str, ...] = ()) -> CommandInvoked:
    return CommandInvoked(
        event_id=EventId(uuid.uuid4().hex),
        actor=Actor(h.adapter.platform, UserId(user), user.capitalize(), roles),
        place=h.place(),
        text=text,
    )


async def test_a_granted_role_opens_what_it_may_and_is_never_lowered(harness: Harness) -> None:
    h = harness
    await h.feed(command(h, "bea", 'checkin open "How are you?"'))
    assert any("needs the catalyst" in t for t in h.adapter.texts())
    await h.feed(command(h, "bea", 'checkin open "How are you?"', roles=("catalyst",)))
    assert any("Check-in: How are you?" in t for t in h.adapter.texts())
    await h.feed(command(h, "ada", "checkin close", roles=("member",)))
    assert any("Check-in closed" in t for t in h.adapter.texts()), "organiser stays organiser"
