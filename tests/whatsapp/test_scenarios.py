"""WhatsApp rituals through the real `community-bot run` process and the fake Cloud API.

The fake checks every request the bot sends against the official spec and posts signed
webhooks to the bot's web server, as Meta does. Ada organises from the web chat; the others
are on WhatsApp. Waits are on what the fake receives, with deadlines.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.bot_process import bot_process
from tests.webchat_client import ChatClient
from tests.whatsapp import payloads
from tests.whatsapp.conftest import APP_SECRET, VERIFY_TOKEN
from tests.whatsapp.fake_graph import TOKEN, FakeGraph

pytestmark = pytest.mark.whatsapp

BEN, CARA, DEV, EVE = "447700900002", "447700900003", "447700900004", "447700900005"
FAY = "447700900006"  # an organiser on WhatsApp
NAMES = {BEN: "Ben", CARA: "Cara", DEV: "Dev", EVE: "Eve", FAY: "Fay"}
ROOM = "lobby"

CONFIG = """
[community]
name = "Gardeners"
timezone = "Europe/London"
organisers = ["web:ada", "whatsapp:447700900006"]

[web]
host = "127.0.0.1"
port = 0

[whatsapp]
phone_number_id = "{phone}"
access_token_env = "WA_TOKEN"
app_secret_env = "WA_APP_SECRET"
verify_token_env = "WA_VERIFY"
api_base = "{base}"
per_member_seconds = 0.2
per_member_burst = 20
max_body_bytes = 8192
stale_after_hours = 48
"""


@dataclass
class Scene:
    graph: FakeGraph
    chat: ChatClient
    base: str

    @property
    def webhook(self) -> str:
        return f"{self.base}/whatsapp/webhook"

    async def marker(self, wa_id: str, name: str) -> None:
        """The member asks for help and waits for the answer: what the bot queued for them
        before has been sent by then (their messages go out in order)."""
        before = len(self.graph.to(wa_id))
        await self.graph.says(wa_id, name, "help me")
        await self.graph.until(
            lambda: any("me tz" in a.text for a in self.graph.to(wa_id)[before:])
        )


@asynccontextmanager
async def scene(tmp_path: Path) -> AsyncIterator[Scene]:
    async with FakeGraph(APP_SECRET) as graph:
        config = tmp_path / "config.toml"
        config.write_text(CONFIG.format(phone=graph.phone_number_id, base=graph.base_url))
        env = {"WA_TOKEN": TOKEN, "WA_APP_SECRET": APP_SECRET, "WA_VERIFY": VERIFY_TOKEN}
        async with bot_process(tmp_path / "data", config, env) as (proc, chat):
            base = str(chat.http.base_url).rstrip("/")
            graph.webhook_url = f"{base}/whatsapp/webhook"
            try:
                yield Scene(graph, chat, base)
            finally:
                proc.terminate()
                await proc.wait()
                assert proc.stderr is not None
                log = (await proc.stderr.read()).decode(errors="replace")
                print(log[-8000:])  # shown when the test fails
        assert graph.problems == [], "requests departed from the spec"


async def test_outside_the_window_a_template_inside_it_free_text(tmp_path: Path) -> None:
    async with scene(tmp_path) as s:
        await s.graph.says(CARA, "Cara", "hello")  # Cara wrote just now
        await s.graph.says(BEN, "Ben", "help", at=time.time() - 25 * 3600)  # Ben, yesterday
        await s.chat.post(ROOM, "ada", '/nudge "Seed swap on Sunday, bring jars" --at now')
        ben = await s.graph.receives(BEN, "Seed swap")
        cara = await s.graph.receives(CARA, "Seed swap")
        assert ben.kind == "template" and ben.body["template"]["name"] == "community_nudge"
        assert ben.text == "community_nudge | Gardeners | Seed swap on Sunday, bring jars"
        assert cara.kind == "text" and cara.text == "Seed swap on Sunday, bring jars"
        assert not any(a.kind != "template" for a in s.graph.to(BEN)), (
            "the answer to Ben's old `help` is free text: it waits for his next message"
        )
        await s.graph.says(BEN, "Ben", "thanks!")  # his window opens: the held answer goes
        await s.graph.until(lambda: any("me tz" in a.text for a in s.graph.to(BEN)))
        assert [a.kind for a in s.graph.to(BEN)] == ["template", "text"]


async def test_forged_stale_and_oversized_webhooks_are_refused(tmp_path: Path) -> None:
    async with scene(tmp_path) as s:
        forged = await s.graph.post(payloads.text(DEV, "Dev", "help"), secret="guessed")
        assert forged.status_code == 401
        async with httpx.AsyncClient() as http:
            unsigned = await http.post(s.webhook, json=payloads.text(DEV, "Dev", "help"))
            assert unsigned.status_code == 401
            body, headers = payloads.signed(APP_SECRET, payloads.text(DEV, "Dev", "x" * 9000))
            assert (await http.post(s.webhook, content=body, headers=headers)).status_code == 413
            query = {
                "hub.mode": "subscribe",
                "hub.verify_token": VERIFY_TOKEN,
                "hub.challenge": "7",
            }
            assert (await http.get(s.webhook, params=query)).text == "7"
        stale = payloads.text(DEV, "Dev", "checkin open stale", at=time.time() - 3 * 86400)
        assert (await s.graph.post(stale)).status_code == 200
        s.graph.wrote[DEV] = time.time()  # the phone's side of the window
        again = await s.graph.post(payloads.text(DEV, "Dev", "help", mid="wamid.same"))
        assert again.status_code == 200
        await s.graph.post(payloads.text(DEV, "Dev", "help", mid="wamid.same"))  # re-delivered
        await s.graph.until(lambda: s.graph.to(DEV))
        await s.marker(DEV, "Dev")
        helps = [a for a in s.graph.to(DEV) if "me tz" in a.text]
        assert len(helps) == 2, "one answer to the re-delivered help, one to the marker"
        assert len(s.graph.to(DEV)) == 2, "nothing answered the forged or stale webhooks"


async def test_a_dm_check_in_answered_by_text_and_by_button(tmp_path: Path) -> None:
    async with scene(tmp_path) as s:
        for wa_id, name in ((BEN, "Ben"), (CARA, "Cara"), (DEV, "Dev")):
            await s.marker(wa_id, name)
        await s.chat.post(ROOM, "ada", '/checkin open "How are you arriving?" --dm')
        ben_q = await s.graph.receives(BEN, "How are you arriving?")
        cara_q = await s.graph.receives(CARA, "How are you arriving?")
        assert ben_q.kind == "interactive" and ben_q.body["interactive"]["type"] == "button"
        assert [title for _, title in cara_q.choices()] == ["Answer", "Pass"]
        await s.graph.presses(BEN, "Ben", ben_q, "Answer")  # Answer: the bot says how
        await s.graph.receives(BEN, "Reply to my message with your answer")
        await s.graph.says(BEN, "Ben", "Tired but glad")
        await s.graph.receives(BEN, "answer is in")
        await s.graph.presses(CARA, "Cara", cara_q, "Pass")
        await s.graph.receives(CARA, "Pass noted")
        await s.graph.receives(DEV, "How are you arriving?")
        await s.graph.says(DEV, "Dev", "Checkin Curious")  # a command, without a prefix
        await s.graph.receives(DEV, "answer is in")
        await s.chat.post(ROOM, "ada", "/checkin close")
        summary = await s.chat.wait_for(ROOM, "ada", lambda m: "Check-in closed" in m["text"])
        assert "2 answers, 1 pass" in summary["text"]
        assert "Tired but glad" in summary["text"] and "Curious" in summary["text"]


async def test_a_131047_leads_to_the_template_not_a_retry_loop(tmp_path: Path) -> None:
    async with scene(tmp_path) as s:
        await s.marker(EVE, "Eve")
        s.graph.fail_next[EVE].append(131047)  # her window closed after all
        await s.chat.post(ROOM, "ada", '/checkin open "One word for today?" --dm')
        invite = await s.graph.receives(EVE, "One word for today?")
        assert invite.kind == "template"
        assert invite.body["template"]["name"] == "community_checkin_invite"
        await s.marker(EVE, "Eve")
        assert s.graph.refused == [(EVE, 131047)]
        assert sum("One word" in a.text for a in s.graph.to(EVE)) == 1


async def test_a_relayed_breakout_of_four_passes_each_message_to_the_other_three_once(
    tmp_path: Path,
) -> None:
    four = (BEN, CARA, DEV, EVE)
    async with scene(tmp_path) as s:
        for wa_id in four:
            await s.marker(wa_id, NAMES[wa_id])
        await s.chat.post(ROOM, "ada", '/checkin open "Ready to talk?" --dm')
        for wa_id in four:
            await s.graph.receives(wa_id, "Ready to talk?")
            await s.graph.says(wa_id, NAMES[wa_id], "Yes")
            await s.graph.receives(wa_id, "answer is in")
        await s.chat.post(ROOM, "ada", "/checkin close")
        await s.chat.wait_for(ROOM, "ada", lambda m: "Check-in closed" in m["text"])

        await s.graph.says(FAY, "Fay", 'breakout size 4 "What grows here?" --from checkin')
        await s.graph.receives(FAY, "Group 1: Ben, Cara, Dev, Eve")
        for wa_id in four:
            await s.graph.receives(wa_id, "Breakout group 1 of 1: @Ben, @Cara, @Dev, @Eve")
        for wa_id in four:
            await s.graph.says(wa_id, NAMES[wa_id], f"{NAMES[wa_id]} thinks: moss")

        def relayed(to: str, sender: str) -> int:
            line = f"{NAMES[sender]}: {NAMES[sender]} thinks: moss"
            return sum(a.text == line for a in s.graph.to(to))

        await s.graph.until(lambda: all(relayed(to, fr) for to in four for fr in four if to != fr))
        for wa_id in four:
            await s.marker(wa_id, NAMES[wa_id])  # anything sent twice would be in by now
        counts = {(to, fr): relayed(to, fr) for to in four for fr in four}
        assert all(n == (0 if to == fr else 1) for (to, fr), n in counts.items()), counts
        assert not any("moss" in a.text for a in s.graph.to(FAY)), "the catalyst is not a member"

        await s.graph.says(FAY, "Fay", "breakout end")  # the time box ends early: report back
        for wa_id in four:
            await s.graph.receives(wa_id, "Time is up. Please report back")
        await s.graph.says(BEN, "Ben", "report Moss grows where nobody walks")
        await s.graph.receives(BEN, "Moss grows where nobody walks")
        await s.graph.says(FAY, "Fay", "Breakout End")
        collated = await s.graph.receives(FAY, "Breakout reports (1 group)")
        assert "Moss grows where nobody walks" in collated.text
        for wa_id in four:
            await s.graph.receives(wa_id, "I no longer pass messages on")
        await s.graph.says(CARA, "Cara", "anyone still here?")
        for wa_id in four:
            await s.marker(wa_id, NAMES[wa_id])
        assert not any("anyone still here?" in a.text for w in four for a in s.graph.to(w))
