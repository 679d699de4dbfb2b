"""One member across platforms: link codes, merging, unlinking, and where DMs reach them."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlmodel import col, select

from adapters.contract import Direct, PlatformName, UserId
from bot.checkins.models import CheckinAnswer
from bot.errors import PlatformError
from bot.models import AuditEntry, Identity, LinkCode, Member, OutboxRow, Role
from bot.testing import Harness
from tests.test_checkins import answer_by_button

CODE = re.compile(r"code is ([A-Z0-9]{4}-[A-Z0-9]{4})")


@pytest.fixture
async def h(database_url: str) -> AsyncIterator[Harness]:
    async with Harness.open(database_url, more_platforms=("other", "third")) as harness:
        yield harness


async def code_for(h: Harness, user: str, platform: str = "fake") -> str:
    [reply] = await h.say(user, "me link", platform=platform)
    found = CODE.search(reply)
    assert found, reply
    return found.group(1)


async def member_of(h: Harness, platform: str, user: str) -> Member:
    async with h.bot.db.reader() as s:
        identity = (
            await s.exec(
                select(Identity).where(Identity.platform == platform, Identity.external_id == user)
            )
        ).one()
        member = await s.get(Member, identity.member_id)
        assert member is not None
        return member


async def link(h: Harness, user: str, a: str, b: str) -> list[str]:
    code = await code_for(h, user, a)
    return await h.say(user, f"me link {code}", platform=b)


async def test_a_code_joins_two_accounts_with_the_higher_role_and_both_preferences(
    h: Harness,
) -> None:
    await h.say("bob", "me tz Asia/Kolkata", platform="other")
    await h.say("bob", "me quiet 22:00-07:00")
    await h.say("ada", "role catalyst bob")
    [reply] = await link(h, "bob", "fake", "other")
    assert "Linked" in reply and "fake, other" in reply
    one, two = await member_of(h, "fake", "bob"), await member_of(h, "other", "bob")
    assert one.id == two.id
    assert Role(one.role) is Role.CATALYST
    assert one.timezone == "Asia/Kolkata" and one.quiet_start is not None
    [me] = await h.say("bob", "me", platform="other")
    assert "fake:bob" in me and "other:bob" in me and "a catalyst" in me
    async with h.bot.db.reader() as s:
        assert len((await s.exec(select(Member))).all()) == 2  # ada and bob
        audit = (await s.exec(select(AuditEntry).where(AuditEntry.action == "member.link"))).all()
        assert len(audit) == 1


async def test_answers_follow_and_a_second_answer_edits_the_first(h: Harness) -> None:
    await h.say("bob", "help", platform="other")  # the older account: the one kept
    await h.say("ada", 'checkin open "How are you?"')
    await h.say("bob", "checkin tired")
    await link(h, "bob", "fake", "other")
    await h.say("bob", "checkin rested")
    async with h.bot.db.reader() as s:
        answers = (await s.exec(select(CheckinAnswer))).all()
    keep = await member_of(h, "other", "bob")
    assert [(a.member_id, a.text) for a in answers] == [(keep.id, "rested")]


async def test_an_open_anonymous_answer_follows_the_merge(h: Harness) -> None:
    await h.say("bob", "help", platform="other")
    prompt = "Honestly?"
    await h.say("ada", f'checkin open "{prompt}" --anonymous')
    await answer_by_button(h, "bob", "first", prompt)
    await link(h, "bob", "fake", "other")
    await answer_by_button(h, "bob", "second", prompt)
    [status] = await h.say("ada", "checkin status")
    assert "1 answered" in status
    async with h.bot.db.reader() as s:
        assert [a.text for a in (await s.exec(select(CheckinAnswer))).all()] == ["second"]


async def test_a_code_works_once_and_only_its_hash_is_kept(h: Harness) -> None:
    code = await code_for(h, "bob")
    async with h.bot.db.reader() as s:
        dump = "\n".join(str(tuple(r)) for r in (await s.exec(select(LinkCode))).all())
    assert code not in dump and code.replace("-", "") not in dump
    assert "Linked" in (await h.say("bob", f"me link {code.lower()}", platform="other"))[0]
    [again] = await h.say("carol", f"me link {code}", platform="third")
    assert "does not work" in again
    assert (await member_of(h, "third", "carol")).id != (await member_of(h, "fake", "bob")).id


async def test_a_code_expires_after_ten_minutes(h: Harness) -> None:
    code = await code_for(h, "bob")
    await h.advance(timedelta(minutes=10, seconds=1))
    [reply] = await h.say("bob", f"me link {code}", platform="other")
    assert "does not work" in reply
    assert (await member_of(h, "other", "bob")).id != (await member_of(h, "fake", "bob")).id


async def test_ones_own_code_links_nothing(h: Harness) -> None:
    code = await code_for(h, "bob")
    [reply] = await h.say("bob", f"me link {code}")
    assert "does not work" in reply


async def test_two_platforms_using_one_code_at_once_link_once(h: Harness) -> None:
    code = await code_for(h, "bob")
    for platform in ("other", "third"):
        await h.say("bob", "help", platform=platform)
    await asyncio.gather(
        *(h.bot.handle(h.command("bob", f"me link {code}", platform=p)) for p in ("other", "third"))
    )
    await h.settle()
    members = {(await member_of(h, p, "bob")).id for p in ("fake", "other", "third")}
    assert len(members) == 2
    async with h.bot.db.reader() as s:
        audit = (await s.exec(select(AuditEntry).where(AuditEntry.action == "member.link"))).all()
    assert len(audit) == 1


async def test_ten_wrong_codes_lock_linking_for_an_hour(h: Harness) -> None:
    for i in range(10):
        [reply] = await h.say("mallory", f"me link AAAA-AA{i:02d}", platform="other")
        assert "does not work" in reply
    code = await code_for(h, "bob")
    [locked] = await h.say("mallory", f"me link {code}", platform="other")
    assert "Too many wrong codes" in locked
    assert (await member_of(h, "other", "mallory")).id != (await member_of(h, "fake", "bob")).id
    await h.advance(timedelta(hours=1, seconds=1))
    code = await code_for(h, "bob")
    [reply] = await h.say("mallory", f"me link {code}", platform="other")
    assert "Linked" in reply


async def test_unlink_splits_an_account_off_again(h: Harness) -> None:
    await link(h, "bob", "fake", "other")
    await h.say("bob", "me reach other")
    [reply] = await h.say("bob", "me unlink other")
    assert "Unlinked" in reply
    fake, other = await member_of(h, "fake", "bob"), await member_of(h, "other", "bob")
    assert fake.id != other.id and fake.reach is None
    [me] = await h.say("bob", "me")
    assert "fake:bob" in me and "other:bob" not in me
    [only] = await h.say("bob", "me unlink fake")
    assert "only account" in only


async def test_dms_go_where_the_member_chose_and_fall_back_when_refused(h: Harness) -> None:
    await link(h, "bob", "fake", "other")
    [reply] = await h.say("bob", "me reach other")
    assert "reach you on other" in reply
    [refused] = await h.say("bob", "me reach matrix")
    assert "can't reach you" in refused
    await h.say("ada", 'nudge "First" --at in 1h')
    await h.advance(timedelta(hours=2))
    other = h.adapters[PlatformName("other")]
    assert "First" in " ".join(other.direct_texts("bob"))
    other.fail_next(PlatformError("the user blocked the bot", permanent=True))
    await h.say("ada", 'nudge "Second" --at in 1h')
    await h.advance(timedelta(hours=2))
    assert "Second" in " ".join(h.adapter.direct_texts("bob"))
    assert "Second" not in " ".join(other.direct_texts("bob"))
    async with h.bot.db.reader() as s:
        dead = (
            await s.exec(select(OutboxRow).where(col(OutboxRow.last_error).startswith("moved")))
        ).all()
    assert [r.platform for r in dead] == ["other"]
    assert dead[0].last_error and "moved to fake" in dead[0].last_error
    assert Direct(PlatformName("fake"), UserId("bob")) in {r.to for r in h.adapter.records}


async def test_a_refused_dm_with_nowhere_else_to_go_stays_dead(h: Harness) -> None:
    await h.say("ada", 'nudge "Only" --at in 1h --to organisers')
    h.adapter.fail_next(PlatformError("blocked", permanent=True))
    await h.advance(timedelta(hours=2))
    async with h.bot.db.reader() as s:
        rows = (
            await s.exec(select(OutboxRow).where(col(OutboxRow.key).startswith("nudge:")))
        ).all()
    assert [(r.state, r.last_error) for r in rows] == [("dead", "blocked")]
