"""Slack's retries and limits, through the real `community-bot run` process: an event Slack
delivers again is handled once, a 429 is waited out and the message sent once, and in HTTP
mode only signed requests reach the bot."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from tests.slack import payloads as p
from tests.slack.community import SIGNING_SECRET, SlackCommunity, slack_community
from tests.slack.fake_slack import sign
from tests.slack.test_rituals import PROMPT, round_thread

pytestmark = pytest.mark.slack


def told_count(c: SlackCommunity, name: str, containing: str) -> int:
    return sum(1 for e in c.fake.ephemerals if e["user"] == c.id(name) and containing in e["text"])


async def answered_once_despite_retries(c: SlackCommunity) -> None:
    await c.slash("alice", "/checkin", f'open "{PROMPT}"')
    root = await round_thread(c, PROMPT)
    await c.fake.say(c.id("bob"), "C0GENERAL", "The people", root, retries=2)
    await c.told("bob", "your answer is in")
    await c.slash("bob", "/checkin", "status")  # answered after anything the retries caused
    await c.told("bob", "answered")
    assert told_count(c, "bob", "your answer is") == 1


async def test_socket_mode_redeliveries_are_handled_once(tmp_path: Path) -> None:
    async with slack_community(tmp_path, "alice", "bob") as c:
        await answered_once_despite_retries(c)


async def test_http_mode_takes_signed_requests_once_and_refuses_the_rest(tmp_path: Path) -> None:
    async with slack_community(tmp_path, "alice", "bob", http=True) as c:
        await answered_once_despite_retries(c)
        url = f"http://127.0.0.1:{c.port}/slack/events"
        event = p.message("Forged hello", user=c.id("bob"), ts="1767225600.999999")
        body = json.dumps(p.callback(event, "Ev0FORGED"))
        good = sign(SIGNING_SECRET, body.encode())
        cases = {
            "wrong secret": sign("not-the-secret", body.encode()),
            "no headers": {},
            "stale": sign(SIGNING_SECRET, body.encode(), time.time() - 6 * 60),
        }
        async with httpx.AsyncClient() as http:
            for name, headers in cases.items():
                r = await http.post(url, content=body, headers=headers)
                assert r.status_code == 401, name
            r = await http.post(url, content=body, headers=good)
            assert r.status_code == 200


async def test_a_rate_limit_is_waited_out_and_the_reply_sent_once(tmp_path: Path) -> None:
    async with slack_community(tmp_path, "alice", "bob") as c:
        c.fake.fail_next("chat.postEphemeral", "ratelimited", 429, retry_after=2)
        asked = time.monotonic()
        await c.slash("bob", "/help", "")
        await c.told("bob", "What you can do")
        waited = time.monotonic() - asked
        await c.slash("bob", "/checkin", "status")
        await c.told("bob", "no check-in open here")
    assert waited >= 2.0, "Retry-After was honoured"
    assert told_count(c, "bob", "What you can do") == 1
