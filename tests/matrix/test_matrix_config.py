"""The `[matrix]` section becomes an adapter: secrets, rate, E2E store (no server needed)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from adapters.matrix import MatrixAdapter
from adapters.matrix.adapter import DEFAULT_RATE, EXEMPT_RATE
from bot.app import platform_adapters
from bot.clock import SystemClock
from bot.config import parse_config
from bot.db import Database
from bot.errors import ConfigError


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'c.db'}")
    yield database
    await database.close()


def config(tmp_path: Path, **matrix: Any) -> Any:
    section = {
        "homeserver": "http://127.0.0.1:1",
        "user_id": "@bot:example.org",
        "password_env": "BOT_PASSWORD",
        **matrix,
    }
    data = {"storage": {"data_dir": str(tmp_path)}, "matrix": section}
    return parse_config(data, {"BOT_PASSWORD": "s3cret-value"}, tmp_path)


async def test_the_config_builds_the_adapter_beside_the_web_chat(
    tmp_path: Path, db: Database
) -> None:
    found = platform_adapters(config(tmp_path, command_prefix="?"), db, SystemClock())
    assert [a.platform for a in found] == ["web", "matrix"]
    matrix = found[1]
    assert isinstance(matrix, MatrixAdapter)
    assert matrix.self_id == "@bot:example.org" and matrix.command_prefix == "?"
    assert matrix.send_rate == DEFAULT_RATE and matrix.e2e_store is None
    assert "s3cret-value" not in repr(vars(matrix))  # the password stays out of reprs


async def test_exemption_and_encryption_options(tmp_path: Path, db: Database) -> None:
    adapter = MatrixAdapter.from_config(config(tmp_path, exempt_from_rate_limit=True, e2e=True), db)
    assert adapter.send_rate == EXEMPT_RATE
    assert adapter.e2e_store == tmp_path / "matrix-store"


@pytest.mark.parametrize(
    ("option", "key", "says"),
    [
        ({"user_id": "communitybot"}, "matrix.user_id", "@bot:example.org"),
        ({"homeserver": "matrix.example.org"}, "matrix.homeserver", "https://"),
        ({"rooms": ["community"]}, "matrix.rooms", "#community:example.org"),
        ({"space": "#nocolon"}, "matrix.space", "Matrix room"),
        ({"command_prefix": ""}, "matrix.command_prefix", "at least 1"),
    ],
)
def test_mistakes_name_the_key(tmp_path: Path, option: dict[str, Any], key: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config(tmp_path, **option)
    assert caught.value.key.startswith(key) and says in str(caught.value)
