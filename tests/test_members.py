"""help, roles and a member's own settings, through the core harness on both databases."""

from __future__ import annotations

import dataclasses
from datetime import time

import pytest
from sqlmodel import select

from adapters.contract import Actor, Direct, MemberJoined, PlatformName, UserId
from bot.models import AuditEntry, Identity, Member, Role
from bot.testing import Harness


async def member(h: Harness, user: str) -> Member:
    async with h.bot.db.reader() as s:
        ident = (await s.exec(select(Identity).where(Identity.external_id == user))).one()
        found = await s.get(Member, ident.member_id)
        assert found is not None
        return found


async def test_help_lists_only_what_the_caller_may_run(harness: Harness) -> None:
    [member_help] = await harness.say("bob", "help")
    [organiser_help] = await harness.say("ada", "help")
    assert "me tz <zone>" in member_help
    assert "role <" not in member_help
    assert "role <catalyst|organiser|member> <user>" in organiser_help
    assert "as an organiser" in organiser_help


async def test_help_is_sent_privately(harness: Harness) -> None:
    await harness.say("bob", "help")
    assert harness.adapter.direct_texts("bob")


async def test_a_member_is_refused_role_naming_the_role_needed(harness: Harness) -> None:
    await harness.say("carol", "help")
    [reply] = await harness.say("bob", "role catalyst carol")
    assert "needs the organiser role" in reply
    assert (await member(harness, "carol")).role == Role.MEMBER


async def test_organiser_gives_a_role_and_it_is_audited(harness: Harness) -> None:
    await harness.say("carol", "help")
    [reply] = await harness.say("ada", "role catalyst carol")
    assert reply == "Carol is now a catalyst. Before, they were a member."
    assert (await member(harness, "carol")).role == Role.CATALYST
    async with harness.bot.db.reader() as s:
        [entry] = (await s.exec(select(AuditEntry))).all()
    assert entry.action == "role.change"
    assert entry.detail["after"] == "catalyst"


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("role wizard carol", "not a role"),
        ("role catalyst nobody", "don't know anyone called `nobody`"),
        ("role catalyst", "Name a role and a person"),
    ],
)
async def test_role_bad_input_is_explained(harness: Harness, command: str, expected: str) -> None:
    await harness.say("carol", "help")
    [reply] = await harness.say("ada", command)
    assert expected in reply
    assert "Usage:" in reply or "don't know" in reply


async def test_the_only_organiser_cannot_step_down(harness: Harness) -> None:
    [reply] = await harness.say("ada", "role member ada")
    assert "only organiser" in reply
    assert (await member(harness, "ada")).role == Role.ORGANISER


async def test_me_tz_quiet_pause_resume(harness: Harness) -> None:
    [tz] = await harness.say("bob", "me tz America/New_York")
    assert "America/New_York" in tz
    [quiet] = await harness.say("bob", "me quiet 22:00-07:30")
    assert "22:00" in quiet and "07:30" in quiet
    await harness.say("bob", "me pause")
    bob = await member(harness, "bob")
    assert (bob.timezone, bob.quiet_start, bob.quiet_end, bob.paused) == (
        "America/New_York",
        time(22, 0),
        time(7, 30),
        True,
    )
    await harness.say("bob", "me resume")
    assert not (await member(harness, "bob")).paused


@pytest.mark.parametrize("zone", ["Mars/Base", "../../etc/passwd", "Europe/Londn", "🙂"])
async def test_unknown_time_zone_is_refused_naming_it(harness: Harness, zone: str) -> None:
    [reply] = await harness.say("bob", f"me tz {zone}")
    assert (zone if zone.isascii() else "that time zone") in reply
    assert (await member(harness, "bob")).timezone is None


async def test_unreadable_commands_get_the_right_form(harness: Harness) -> None:
    [unknown] = await harness.say("bob", "dance wildly")
    assert "I don't know the command" in unknown and "help" in unknown
    [quiet] = await harness.say("bob", "me quiet sometimes")
    assert "Usage: `!me quiet" in quiet, "a usage line names the command as typed here"
    [long] = await harness.say("bob", "me tz " + "x" * 10_000)
    assert "The most I take is 8,000" in long


async def test_a_redelivered_event_is_handled_once(harness: Harness) -> None:
    event = harness.command("bob", "me pause")
    await harness.feed(event)
    await harness.feed(event)
    assert len(harness.adapter.direct_texts("bob")) == 1


async def test_the_bots_own_messages_are_ignored(harness: Harness) -> None:
    await harness.feed(harness.command("bot", "help"))
    assert harness.adapter.records == []


async def test_a_failing_handler_gets_an_apology_and_the_bot_goes_on(harness: Harness) -> None:
    spec = next(s for s in harness.bot.commands.specs() if s.path == ("me", "pause"))

    async def broken(ctx: object, inv: object) -> None:
        raise RuntimeError("boom")

    original = spec.handler
    object.__setattr__(spec, "handler", broken)  # the spec is shared by every bot: restore it
    try:
        [apology] = await harness.say("bob", "me pause")
    finally:
        object.__setattr__(spec, "handler", original)
    assert "something went wrong" in apology
    assert not (await member(harness, "bob")).paused
    [tz] = await harness.say("bob", "me tz Asia/Kolkata")
    assert "Asia/Kolkata" in tz
    assert harness.adapter.records[-1].to == Direct(PlatformName("fake"), UserId("bob"))


async def test_a_members_name_follows_the_platform_unless_it_came_from_elsewhere(
    harness: Harness,
) -> None:
    """Someone first seen by id (a room's roster) gets the name they later show; a name the
    member has from another account stays."""
    h = harness
    seen = h.command("zoe", "help")
    roster = MemberJoined(
        event_id=seen.event_id + "-roster",
        actor=Actor(seen.actor.platform, UserId("zoe"), "zoe"),
        place=seen.place,
    )
    await h.feed(roster)
    await h.feed(
        dataclasses.replace(seen, actor=Actor(seen.actor.platform, UserId("zoe"), "Zoe Q"))
    )
    async with h.bot.db.reader() as s:
        names = {m.display_name for m in (await s.exec(select(Member))).all()}
    assert "Zoe Q" in names and "zoe" not in names
