"""The chat page as files: served from the package, loading nothing from anywhere else."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from adapters.webchat.page import STATIC, TEMPLATE
from bot.app import running
from bot.config import parse_config
from bot.dashboard.pages import STATIC as DASHBOARD


@pytest.fixture
async def http(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    config = parse_config({"storage": {"data_dir": str(tmp_path)}}, {}, tmp_path)
    async with running(config, port=0) as run:
        assert run.web is not None
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{run.web.port}") as client:
            yield client


async def test_the_page_and_its_files_are_served_with_a_strict_policy(
    http: httpx.AsyncClient,
) -> None:
    page = await http.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    assert page.headers["referrer-policy"] == "no-referrer"
    for asset in re.findall(r'(?:src|href)="(/chat/[^"]+)"', page.text):
        assert (await http.get(asset)).status_code == 200
    assert (await http.get("/chat/nothing.js")).status_code == 404


def test_the_files_name_nothing_outside_the_bot() -> None:
    files = {p.name: p.read_text() for p in STATIC.iterdir()} | {"index.html": TEMPLATE.template}
    for name, text in files.items():
        assert not re.search(r"(src|href|url)\s*[=(]\s*[\"']?(https?:)?//", text), name
        assert "<script>" not in text and " style=" not in text, name


async def test_the_page_learns_the_mode(http: httpx.AsyncClient) -> None:
    me = await http.get("/api/chat/me")
    assert me.json() == {"mode": "open", "user": None, "bot": "community-bot"}


async def test_in_token_mode_the_page_learns_whose_token_it_holds(tmp_path: Path) -> None:
    config = parse_config(
        {
            "storage": {"data_dir": str(tmp_path)},
            "web": {"auth": "token", "users": [{"name": "ada", "token_env": "T"}]},
        },
        {"T": "t-ada"},
        tmp_path,
    )
    async with running(config, port=0) as run:
        assert run.web is not None
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{run.web.port}") as client:
            anonymous = await client.get("/api/chat/me")
            ada = await client.get("/api/chat/me", headers={"authorization": "Bearer t-ada"})
            wrong = await client.get("/api/chat/me", headers={"authorization": "Bearer nope"})
    assert anonymous.json()["user"] is None and anonymous.json()["mode"] == "token"
    assert ada.json()["user"] == "ada"
    assert wrong.status_code == 401


PHYSICAL = re.compile(
    r"(?:margin|padding|border)-(?:left|right)|(?:text-align|float|clear)\s*:\s*(?:left|right)"
    r"|(?<![-\w])(?:left|right)\s*:"
)
"""A side named physically, which would not mirror in a right-to-left language."""


def test_the_pages_styles_name_sides_logically() -> None:
    for path in (STATIC / "chat.css", DASHBOARD / "dashboard.css"):
        rules = re.sub(r"/\*.*?\*/", "", path.read_text(), flags=re.S)
        assert PHYSICAL.findall(rules) == [], path.name


async def test_the_page_speaks_the_browsers_language_else_the_communitys(tmp_path: Path) -> None:
    config = parse_config(
        {"community": {"language": "es"}, "storage": {"data_dir": str(tmp_path)}}, {}, tmp_path
    )
    async with running(config, port=0) as run:
        assert run.web is not None
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{run.web.port}") as client:
            plain = await client.get("/")
            swahili = await client.get("/", headers={"accept-language": "sw-KE, en;q=0.5"})
            unknown = await client.get("/", headers={"accept-language": "fr-FR"})
    assert '<html lang="es" dir="ltr">' in plain.text and "Elige un nombre" in plain.text
    assert '<html lang="sw" dir="ltr">' in swahili.text and "Chagua jina" in swahili.text
    assert '<html lang="es"' in unknown.text
    assert swahili.headers["vary"] == "Accept-Language"
    block = re.search(r'id="words">(.*?)</script>', swahili.text, re.S)
    assert block
    words = json.loads(block.group(1))
    assert words["lang"] == "sw" and words["counted"]["unread"] == ["{n} mpya", "{n} mpya"]
