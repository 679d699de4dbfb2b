"""The `[whatsapp]` section and `community-bot whatsapp templates`."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.config import parse_config
from bot.errors import ConfigError

pytestmark = pytest.mark.whatsapp

SECTION = {
    "phone_number_id": "106540352242922",
    "access_token_env": "WA_TOKEN",
    "app_secret_env": "WA_SECRET",
    "verify_token_env": "WA_VERIFY",
}
ENV = {"WA_TOKEN": "t0ken", "WA_SECRET": "s3cret", "WA_VERIFY": "v3rify"}


def test_the_section_reads_its_secrets_from_the_environment_and_never_shows_them() -> None:
    config = parse_config({"whatsapp": SECTION}, ENV, Path.cwd())
    assert config.model.whatsapp is not None
    assert config.model.whatsapp.messages_per_second == 80
    described = config.describe()
    assert "secret WA_SECRET: set" in described
    assert not any(value in described for value in ENV.values())


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"phone_number_id": "+44 7700 900001"}, "whatsapp.phone_number_id"),
        ({"messages_per_second": 0}, "whatsapp.messages_per_second"),
        ({"api_base": "graph.facebook.com"}, "whatsapp.api_base"),
        ({"app_secret": "inline"}, "whatsapp.app_secret"),
    ],
)
def test_mistakes_name_their_key(change: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as found:
        parse_config({"whatsapp": {**SECTION, **change}}, ENV, Path.cwd())
    assert found.value.key == key


def test_a_missing_secret_names_its_variable() -> None:
    with pytest.raises(ConfigError, match="WA_VERIFY"):
        parse_config({"whatsapp": SECTION}, {**ENV, "WA_VERIFY": ""}, Path.cwd())


def test_the_templates_command_prints_what_to_submit(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["whatsapp", "templates", "--language", "en", "--language", "es"]) == 0
    out = capsys.readouterr().out
    for name in ("community_checkin_invite", "community_event_reminder", "community_nudge"):
        assert f"name:      {name}" in out
    assert "languages: en, es" in out and "{{1}} = community" in out


async def test_the_adapter_paces_to_the_configured_rate(tmp_path: Path) -> None:
    from adapters.whatsapp import WhatsAppAdapter
    from bot.clock import SystemClock
    from bot.db import Database

    section = {**SECTION, "messages_per_second": 20, "per_member_seconds": 3}
    config = parse_config({"whatsapp": section}, ENV, tmp_path)
    db = Database(f"sqlite:///{tmp_path / 'c.db'}")
    adapter = WhatsAppAdapter.from_config(config, db, SystemClock())
    assert (adapter.send_rate.per_second, adapter.send_rate.burst) == (20, 2)
    assert adapter.pace.seconds == 3 and adapter.pace.burst == 10
    assert ("checkin",) in adapter.command_paths, "prefix-less commands know the core's words"
    await db.close()
