"""Logs: JSON lines when configured, and no secret in any line, tracebacks included."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import logs
from bot.config import parse_config

SECRET = "s3cr3t-token-value"
DB_PASSWORD = "pg-pass-word"


@pytest.fixture
def restore_root() -> Iterator[None]:
    root, httpx = logging.getLogger(), logging.getLogger("httpx")
    handlers, level, httpx_level = list(root.handlers), root.level, httpx.level
    yield
    for h in list(root.handlers):
        root.removeHandler(h)
    for h in handlers:
        root.addHandler(h)
    root.setLevel(level)
    httpx.setLevel(httpx_level)


def configured(tmp_path: Path, style: str) -> None:
    config = parse_config(
        {
            "web": {"auth": "token", "users": [{"name": "ada", "token_env": "ADA_TOKEN"}]},
            "storage": {"url_env": "DB_URL"},
            "logging": {"format": style},
        },
        {"ADA_TOKEN": SECRET, "DB_URL": f"postgresql://bot:{DB_PASSWORD}@db/community"},
        tmp_path,
    )
    logs.configure(config)


def log_secrets() -> None:
    log = logging.getLogger("bot.test")
    log.warning("token %s arrived", SECRET)
    try:
        raise RuntimeError(f"cannot reach postgresql://bot:{DB_PASSWORD}@db/community")
    except RuntimeError:
        log.exception("connecting failed")
    log.info("another url https://someone:hunter2@example.org/x")


def test_json_lines_carry_level_logger_and_traceback_without_secrets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], restore_root: None
) -> None:
    configured(tmp_path, "json")
    log_secrets()
    err = capsys.readouterr().err
    lines = [json.loads(line) for line in err.splitlines()]
    assert [(x["level"], x["logger"]) for x in lines] == [
        ("WARNING", "bot.test"),
        ("ERROR", "bot.test"),
        ("INFO", "bot.test"),
    ]
    assert lines[0]["message"] == f"token {logs.MASK} arrived"
    assert "RuntimeError" in lines[1]["exc"]
    assert lines[2]["message"] == f"another url https://someone:{logs.MASK}@example.org/x"
    assert SECRET not in err and DB_PASSWORD not in err and "hunter2" not in err


def test_text_lines_are_redacted_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], restore_root: None
) -> None:
    configured(tmp_path, "text")
    log_secrets()
    err = capsys.readouterr().err
    assert "token ******** arrived" in err
    assert "Traceback" in err
    assert SECRET not in err and DB_PASSWORD not in err
    with pytest.raises(json.JSONDecodeError):
        json.loads(err.splitlines()[0])


def test_the_logging_section_is_checked(tmp_path: Path) -> None:
    from bot.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        parse_config({"logging": {"format": "xml"}}, {}, tmp_path)
    assert err.value.key == "logging.format"
