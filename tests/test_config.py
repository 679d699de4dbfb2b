"""Configuration: validated at load, errors name the key, secrets never shown."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import load_config, parse_config
from bot.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config.example.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_example_config_is_valid() -> None:
    config = load_config(EXAMPLE, env={})
    assert config.model.community.organisers == ["web:ada"]
    assert config.model.web.host == "127.0.0.1"
    assert config.database_url().startswith("sqlite:///")


def test_a_typo_names_the_key_and_suggests_the_right_one(tmp_path: Path) -> None:
    path = write(tmp_path, '[community]\ntimezon = "Europe/London"\n')
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    assert err.value.key == "community.timezon"
    assert "did you mean 'timezone'" in err.value.problem


def test_an_unknown_section_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, "[slak]\ntoken = 1\n"), env={})
    assert err.value.key == "slak"


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        ('[web]\nport = "eighty"\n', "web.port", "integer"),
        ("[web]\nport = 70000\n", "web.port", "65535"),
        ('[community]\ntimezone = "Mars/Base"\n', "community.timezone", "Europe/London"),
        ('[community]\norganisers = ["ada"]\n', "community.organisers", "platform:user-id"),
        ('[community]\nspaces = ["main"]\n', "community.spaces", "platform:space"),
        ('[web]\nauth = "token"\n', "web.users", "token mode"),
        ('[web]\nhost = "0.0.0.0"\n', "web.auth", "loopback"),
        (
            "[matrix]\nhomeserver = 'https://m.org'\nuser_id = '@b:m.org'\n",
            "matrix",
            "password_env",
        ),
        ("[matrix]\nuser_id = '@b:m.org'\n", "matrix.homeserver", "required"),
    ],
)
def test_wrong_values_name_the_key(tmp_path: Path, text: str, key: str, words: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text), env={})
    assert err.value.key == key
    assert words in err.value.problem


def test_a_missing_secret_names_the_environment_variable(tmp_path: Path) -> None:
    path = write(tmp_path, '[storage]\nurl_env = "CB_DB_URL"\n')
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    assert err.value.key == "storage.url_env"
    assert "CB_DB_URL" in err.value.problem


def test_secrets_are_never_shown(tmp_path: Path) -> None:
    config = parse_config(
        {"storage": {"url_env": "CB_DB_URL"}},
        {"CB_DB_URL": "postgresql://bot:hunter2@db/x"},
        tmp_path,
    )
    assert "hunter2" not in config.describe()
    assert "hunter2" not in repr(config.secrets)
    assert "secret CB_DB_URL: set" in config.describe()


def test_malformed_toml_is_reported_with_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, "[community\n"), env={})
    assert "not valid TOML" in err.value.problem


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=ROOT,
    )


def test_check_config_exit_codes(tmp_path: Path) -> None:
    ok = run_cli("check-config", str(EXAMPLE))
    assert ok.returncode == 0, ok.stderr
    assert "configuration OK" in ok.stdout
    typo = run_cli("check-config", str(write(tmp_path, "[web]\nprot = 1\n")))
    assert typo.returncode == 2
    assert "web.prot" in typo.stderr


def test_check_config_names_a_missing_secret_and_hides_a_present_one(tmp_path: Path) -> None:
    path = write(tmp_path, '[storage]\nurl_env = "CB_DB_URL"\n')
    missing = run_cli("check-config", str(path), env={"PATH": "/usr/bin"})
    assert missing.returncode == 2
    assert "CB_DB_URL" in missing.stderr
    present = run_cli(
        "check-config",
        str(path),
        env={"PATH": "/usr/bin", "CB_DB_URL": "postgresql://u:s3cr3t@h/d"},
    )
    assert present.returncode == 0
    assert "s3cr3t" not in present.stdout + present.stderr
