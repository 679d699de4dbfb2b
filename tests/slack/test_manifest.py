"""`community-bot slack manifest`: the app manifest for this config, before any token exists."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.cli import main

pytestmark = pytest.mark.slack


def manifest(tmp_path: Path, capsys: pytest.CaptureFixture[str], toml: str) -> dict:
    path = tmp_path / "config.toml"
    path.write_text(toml, encoding="utf-8")
    assert main(["slack", "manifest", "--config", str(path)]) == 0
    return yaml.safe_load(capsys.readouterr().out)


def test_socket_mode_needs_no_urls_and_uses_the_configured_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    got = manifest(tmp_path, capsys, '[slack]\ncommands = { checkin = "/cb-checkin" }\n')
    settings = got["settings"]
    assert settings["socket_mode_enabled"] is True
    assert "request_url" not in settings["event_subscriptions"]
    assert settings["interactivity"] == {"is_enabled": True}
    names = [c["command"] for c in got["features"]["slash_commands"]]
    assert "/cb-checkin" in names and "/checkin" not in names and "/breakout" in names
    assert "/cb-me" in names and "/me" not in names, "/me is Slack's own command"
    assert all("url" not in c and c["should_escape"] for c in got["features"]["slash_commands"])
    assert "groups:write" in got["oauth_config"]["scopes"]["bot"]
    assert "usergroups:read" not in got["oauth_config"]["scopes"]["bot"]


def test_a_catalysts_group_adds_the_scope_to_read_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    got = manifest(tmp_path, capsys, '[slack]\ncatalyst_usergroup = "S0CATALYSTS"\n')
    assert "usergroups:read" in got["oauth_config"]["scopes"]["bot"]


def test_http_mode_points_every_request_url_at_the_bot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    toml = (
        '[web]\npublic_url = "https://bot.example.org/"\n'
        '[slack]\nmode = "http"\nbreakouts = "threads"\n'
    )
    got = manifest(tmp_path, capsys, toml)
    settings = got["settings"]
    assert settings["socket_mode_enabled"] is False
    assert settings["event_subscriptions"]["request_url"] == "https://bot.example.org/slack/events"
    assert settings["interactivity"]["request_url"] == "https://bot.example.org/slack/interactions"
    urls = {c["url"] for c in got["features"]["slash_commands"]}
    assert urls == {"https://bot.example.org/slack/commands"}
    scopes = got["oauth_config"]["scopes"]["bot"]
    assert "groups:write" not in scopes, "thread breakouts create no channels"
    assert set(scopes) >= {"chat:write", "commands", "im:history", "users:read"}
    assert set(settings["event_subscriptions"]["bot_events"]) >= {
        "message.channels",
        "message.im",
        "reaction_added",
        "member_left_channel",
    }


def test_http_mode_without_a_public_url_is_a_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[slack]\nmode = "http"\n', encoding="utf-8")
    assert main(["slack", "manifest", "--config", str(path)]) == 2
    assert "web.public_url" in capsys.readouterr().err


def test_a_bad_command_name_names_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[slack]\ncommands = { checkin = "check in" }\n', encoding="utf-8")
    assert main(["slack", "manifest", "--config", str(path)]) == 2
    assert "slack.commands" in capsys.readouterr().err


def test_a_name_slack_keeps_for_itself_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[slack]\ncommands = { me = "/me" }\n', encoding="utf-8")
    assert main(["slack", "manifest", "--config", str(path)]) == 2
    assert "Slack's own command" in capsys.readouterr().err
