"""`community-bot discord invite-url`: the link, its permissions and its scopes."""

from __future__ import annotations

import base64
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from adapters.discord.invite import PERMISSIONS, application_id_of, invite_url, permissions
from bot.cli import main

pytestmark = pytest.mark.discord
APP = "1100000000000000100"


def test_the_permissions_integer_is_exactly_what_the_bot_uses() -> None:
    assert permissions() == 17_995_913_055_232  # the integer the README gives
    assert not permissions() & (1 << 3), "never Administrator"
    assert not permissions() & (1 << 17), "never Mention Everyone"
    assert set(PERMISSIONS) >= {"CREATE_PRIVATE_THREADS", "MANAGE_THREADS", "CREATE_EVENTS"}


def test_the_link_asks_for_the_bot_and_its_commands() -> None:
    url = urlsplit(invite_url(APP))
    query = parse_qs(url.query)
    assert url.netloc == "discord.com" and url.path == "/oauth2/authorize"
    assert query["client_id"] == [APP] and query["permissions"] == [str(permissions())]
    assert query["scope"] == ["bot applications.commands"]


def test_the_application_id_is_read_from_the_token() -> None:
    head = base64.b64encode(APP.encode()).decode().rstrip("=")
    assert application_id_of(f"{head}.GAbcde.secretpart") == APP
    assert application_id_of("not-a-token") is None


def test_the_command_prints_the_link(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[discord]\ntoken_env = "DISCORD_TOKEN"\n')
    head = base64.b64encode(APP.encode()).decode().rstrip("=")
    monkeypatch.setenv("DISCORD_TOKEN", f"{head}.GAbcde.secretpart")
    assert main(["discord", "invite-url", "--config", str(config)]) == 0
    out = capsys.readouterr()
    assert out.out.strip() == invite_url(APP) and "secretpart" not in out.out + out.err
    assert main(["discord", "invite-url", "--application-id", "42"]) == 0
    assert "client_id=42" in capsys.readouterr().out
