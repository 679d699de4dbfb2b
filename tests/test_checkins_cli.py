"""`community-bot export` and `community-bot prompts list` on the command line."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from bot.cli import main
from bot.testing import Harness
from tests.bot_process import ROOT

CONFIG = str(ROOT / "config.example.toml")


async def a_closed_round(db_url: str) -> None:
    async with Harness.open(db_url) as h:
        await h.say("ada", 'checkin open "How are you arriving?"')
        await h.say("bob", "checkin Slowly, with 🌱")
        await h.say("carol", "checkin pass")
        await h.say("ada", "checkin close")


def test_export_writes_each_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    asyncio.run(a_closed_round(f"sqlite:///{data}/community-bot.db"))
    base = ["--config", CONFIG, "--data-dir", str(data)]
    assert main(["export", "1", "--format", "json", *base]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert (exported["answered"], exported["passed"], exported["state"]) == (1, 1, "closed")
    assert exported["answers"][0] == {
        "member": "Bob",
        "answer": "Slowly, with 🌱",
        "passed": False,
        "answered_at": "2026-03-02T09:00:00+00:00",
    }
    out = tmp_path / "round.md"
    assert main(["export", "1", "--format", "md", "--output", str(out), *base]) == 0
    assert "- **Bob**: Slowly, with 🌱" in out.read_text(encoding="utf-8")
    assert main(["export", "7", *base]) == 1
    assert "there is no check-in round 7" in capsys.readouterr().err


def test_prompts_list_filters_by_tag_and_reads_extra_dirs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "packs").mkdir()
    (tmp_path / "packs" / "ours.toml").write_text(
        '[pack]\nid = "ours"\ntitle = "Ours"\n\n[[prompt]]\nid = "ours-garden"\n'
        'kind = "checkin"\ntext = "What is growing in your garden?"\ntags = ["short"]\n',
        encoding="utf-8",
    )
    config = tmp_path / "config.toml"
    config.write_text('[prompts]\nextra_dirs = ["packs"]\n', encoding="utf-8")
    assert main(["prompts", "list", "--tag", "short", "--config", str(config)]) == 0
    listed = capsys.readouterr().out
    assert "care-arriving  [checkin; care, opening, short]" in listed
    assert "ours-garden" in listed and "What is growing in your garden?" in listed
    assert "care-qualities" not in listed
    assert main(["prompts", "list", "--tag", "nonesuch", "--config", str(config)]) == 1


def test_prompts_list_in_spanish_shows_the_spanish_prompts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("", encoding="utf-8")
    assert main(["prompts", "list", "--lang", "es", "--config", str(config)]) == 0
    listed = capsys.readouterr().out
    assert "care-arriving  [checkin; care, opening, short]" in listed
    assert "¿Cómo llegas hoy? Con una palabra o una frase basta." in listed
    assert "How are you arriving today?" not in listed
    assert main(["prompts", "list", "--config", str(config)]) == 0
    assert "How are you arriving today?" in capsys.readouterr().out
