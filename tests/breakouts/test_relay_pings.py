"""A relayed message pings no one on any platform: the relay sends what a member typed (and
their name) as plain text segments, and here each adapter's renderer is shown those segments
as the relay builds them. (The web chat has no group mention, and shows text as text; a
WhatsApp conversation has one person in it.)"""

from __future__ import annotations

import re

import pytest

from adapters.contract import Segment
from adapters.discord.translate import allowed_mentions
from adapters.discord.translate import render as discord_render
from adapters.discourse.translate import render as discourse_render
from adapters.matrix.translate import render as matrix_render
from adapters.slack.translate import render as slack_render
from bot.breakouts.relay import author

TYPED = [
    "@room hello",
    "@everyone look",
    "@here now",
    "<!channel> <!here> <!everyone>",
    "<@U024BE7LH> <@&123456789012345678> <@123456789012345678>",
    "@staff @moderators @ada",
]
NAMES = ["Bea", "@everyone", "<!channel>", "@room"]


def relayed(name: str, typed: str) -> tuple[Segment, ...]:
    return (author(name, "web", True), typed)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("typed", TYPED)
def test_matrix_pings_no_room_and_no_one(name: str, typed: str) -> None:
    content = matrix_render(relayed(name, typed))
    assert content["m.mentions"] == {"user_ids": []}
    for field in ("body", "formatted_body"):
        assert not re.search(r"@room\b", content[field], re.IGNORECASE)
        assert "<a " not in content[field]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("typed", TYPED)
def test_slack_forms_no_special_mention(name: str, typed: str) -> None:
    text = slack_render(relayed(name, typed))
    assert "<" not in text and ">" not in text


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("typed", TYPED)
def test_discord_allows_no_mention(name: str, typed: str) -> None:
    content, users = discord_render(relayed(name, typed))
    assert users == []
    assert allowed_mentions(users) == {"parse": [], "users": [], "replied_user": False}
    assert not re.search(r"@(everyone|here)\b", content, re.IGNORECASE)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("typed", TYPED)
def test_discourse_mentions_no_user_or_group(name: str, typed: str) -> None:
    raw = discourse_render(relayed(name, typed))
    assert not re.search(r"@[\w.\-]", raw)
