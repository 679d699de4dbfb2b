"""One round open in several spaces on several platforms (`checkin open ... --in`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlmodel import select

from adapters.contract import Button, PlatformName, SendMessage, Sent
from bot.checkins.models import CheckinAnswer
from bot.testing import Harness
from tests.test_identities import link

PROMPT = "What are you bringing today?"


@pytest.fixture
async def h(database_url: str) -> AsyncIterator[Harness]:
    community = {
        "organisers": ["fake:ada"],
        "spaces": ["fake:main", "other:lounge", "matrix:!gone:example.org"],
    }
    config = {"community": community}
    async with Harness.open(database_url, more_platforms=("other",), config=config) as harness:
        await harness.say("carol", "help", platform="other", space="lounge")
        yield harness


def post_on(h: Harness, platform: str) -> Sent:
    adapter = h.adapters[PlatformName(platform)]
    found = [r.result for r in adapter.records if r.text.startswith(f"Check-in: {PROMPT}")]
    assert len(found) == 1 and isinstance(found[0], Sent)
    return found[0]


async def reply_on(h: Harness, platform: str, user: str, text: str) -> None:
    post = post_on(h, platform)
    assert post.thread is not None
    await h.feed(
        h.message(user, text, platform=platform, space=post.place.space, thread=post.thread)
    )


def summaries(h: Harness, platform: str) -> list[str]:
    adapter = h.adapters[PlatformName(platform)]
    return [t for t in adapter.texts() if t.startswith("Check-in closed")]


async def test_one_round_gathers_answers_from_every_space_and_posts_one_summary_to_each(
    h: Harness,
) -> None:
    said = await h.say("ada", f'checkin open "{PROMPT}" --in other:lounge')
    assert any("Check-in 1 is open" in t for t in said)
    assert post_on(h, "other").place.space == "lounge"
    await reply_on(h, "fake", "bob", "curiosity")
    await reply_on(h, "other", "carol", "snacks")
    await h.say("dave", "checkin pass", platform="other", space="lounge")
    [status] = await h.say("carol", "checkin status", platform="other", space="lounge")
    assert "2 answered, 1 passed" in status
    await h.say("ada", "checkin close")
    fake, other = summaries(h, "fake"), summaries(h, "other")
    assert len(fake) == 1 and fake == other
    assert "Bob: curiosity" in fake[0] and "Carol: snacks" in fake[0]


async def test_the_configured_community_spaces_open_with_one_word(h: Harness) -> None:
    await h.say("ada", f'checkin open "{PROMPT}" --in community')
    assert post_on(h, "other").place.space == "lounge"
    assert post_on(h, "fake").place.space == "main"


async def test_a_linked_member_answering_on_two_platforms_edits_one_answer(h: Harness) -> None:
    await link(h, "bob", "fake", "other")
    await h.say("ada", f'checkin open "{PROMPT}" --in other:lounge')
    await reply_on(h, "fake", "bob", "first thoughts")
    await reply_on(h, "other", "bob", "second thoughts")
    async with h.bot.db.reader() as s:
        answers = (await s.exec(select(CheckinAnswer))).all()
    assert [a.text for a in answers] == ["second thoughts"]


async def test_anonymity_holds_across_platforms(h: Harness) -> None:
    await h.say("ada", f'checkin open "{PROMPT}" --in other:lounge --anonymous')
    for platform, user, text in (("fake", "bob", "tired"), ("other", "carol", "hopeful")):
        post = post_on(h, platform)
        [button] = [b for b in buttons_on(h, platform) if b.action == "checkin.answer"]
        await h.feed(
            h.press(
                user,
                post.message_id,
                button.action,
                button.value,
                text=text,
                platform=platform,
                space=post.place.space,
            )
        )
    await h.say("ada", "checkin close")
    [summary] = summaries(h, "other")
    assert "2 answers" in summary and "• tired" in summary and "• hopeful" in summary
    assert "Bob" not in summary and "Carol" not in summary


def buttons_on(h: Harness, platform: str) -> tuple[Button, ...]:
    adapter = h.adapters[PlatformName(platform)]
    [action] = [r.action for r in adapter.records if r.text.startswith(f"Check-in: {PROMPT}")]
    assert isinstance(action, SendMessage)
    return action.buttons


@pytest.mark.parametrize(
    ("flags", "error"),
    [
        ("--in other:nowhere", "don't know the space"),
        ("--in matrix:lounge", "don't know the space"),
        ("--in lounge", "don't know the space"),
        ("--in fake:main", "at least one other space"),
        ('--in other:lounge --every "monday 9:00"', "Leave out `--in`"),
    ],
)
async def test_spaces_that_cannot_be_used_are_refused(h: Harness, flags: str, error: str) -> None:
    said = await h.say("ada", f'checkin open "{PROMPT}" {flags}')
    assert any(error in t for t in said), said
    assert not summaries(h, "other")
    assert not [r for r in h.adapters[PlatformName("other")].records if "Check-in:" in r.text]


async def test_a_space_with_a_round_open_already_is_refused(h: Harness) -> None:
    await h.say("carol", "role catalyst carol", platform="other", space="lounge")
    await h.say("ada", "role catalyst other:carol")
    await h.say("carol", f'checkin open "{PROMPT}"', platform="other", space="lounge")
    said = await h.say("ada", 'checkin open "Another" --in other:lounge')
    assert any("still open in other:lounge" in t for t in said), said
