"""The [discourse] and [archive] sections: validated at load, secrets from the environment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from adapters.discourse import DiscourseAdapter
from bot.config import parse_config
from bot.errors import ConfigError
from tests.contract.subjects import open_db

pytestmark = pytest.mark.discourse

SECTION = {
    "base_url": "https://forum.example.org/",
    "username": "communitybot",
    "api_key_env": "DISCOURSE_API_KEY",
    "webhook_secret_env": "DISCOURSE_WEBHOOK_SECRET",
    "categories": [5],
    "requests_per_minute": 120,
}
ENV = {"DISCOURSE_API_KEY": "k-123", "DISCOURSE_WEBHOOK_SECRET": "s-123456789012"}


def load(section: dict[str, Any], env: dict[str, str] = ENV, **more: Any) -> Any:
    return parse_config({"discourse": section, **more}, env, Path.cwd())


async def test_a_configured_adapter(tmp_path: Path) -> None:
    config = load(SECTION, archive={"place": "discourse:c/12"})
    db = await open_db(tmp_path)
    try:
        adapter = DiscourseAdapter.from_config(config, db)
        assert adapter.base_url == "https://forum.example.org"
        assert adapter.command_prefix == "@communitybot "
        assert adapter.send_rate.per_second == 2.0 and adapter.window.limit == 120
        assert adapter.max_text == 6_000  # a chat message's limit, the smaller
    finally:
        await db.close()
    described = config.describe()
    assert "k-123" not in described and "s-123456789012" not in described
    assert "secret DISCOURSE_API_KEY: set" in described


@pytest.mark.parametrize(
    ("section", "env", "key"),
    [
        (SECTION, {"DISCOURSE_API_KEY": "k"}, "discourse.webhook_secret_env"),
        ({**SECTION, "base_url": "forum.example.org"}, ENV, "discourse.base_url"),
        ({**SECTION, "requests_per_minute": 0}, ENV, "discourse.requests_per_minute"),
        ({**SECTION, "breakouts": "chat"}, ENV, "discourse.breakout_channel"),
        ({**SECTION, "breakouts": "threads"}, ENV, "discourse.breakouts"),
        ({**SECTION, "categorys": [5]}, ENV, "discourse.categorys"),
    ],
)
def test_mistakes_name_the_key(section: dict[str, Any], env: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError) as exc:
        load(section, env)
    assert exc.value.key == key


async def test_breakouts_in_chat_threads_of_the_configured_channel(tmp_path: Path) -> None:
    config = load({**SECTION, "breakouts": "chat", "breakout_channel": 3})
    db = await open_db(tmp_path)
    try:
        assert DiscourseAdapter.from_config(config, db).breakout_channel == 3
        assert DiscourseAdapter.from_config(load(SECTION), db).breakout_channel is None
    finally:
        await db.close()


def test_an_archive_place_is_platform_colon_space() -> None:
    with pytest.raises(ConfigError) as exc:
        load(SECTION, archive={"place": "c/12"})
    assert exc.value.key == "archive.place"
