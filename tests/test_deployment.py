"""The deployment files: Docker itself is not here, so check what can be checked without it."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from bot.config import load_config

ROOT = Path(__file__).resolve().parent.parent


def instructions(dockerfile: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", dockerfile)
    found = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def test_the_image_runs_as_a_user_with_a_healthcheck_on_its_own_port() -> None:
    steps = instructions((ROOT / "Dockerfile").read_text())
    names = [n for n, _ in steps]
    users = [arg for n, arg in steps if n == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert names.index("USER") > max(i for i, n in enumerate(names) if n == "RUN")
    (check,) = [arg for n, arg in steps if n == "HEALTHCHECK"]
    (cmd,) = [arg for n, arg in steps if n == "CMD"]
    port = re.search(r'"--port", "(\d+)"', cmd)
    assert port is not None
    assert f"http://127.0.0.1:{port.group(1)}/readyz" in check
    assert '"--host", "0.0.0.0"' in cmd


def test_compose_runs_the_bot_on_postgres_with_optional_synapse_and_prometheus() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    bot, db = services["bot"], services["db"]
    assert bot["depends_on"]["db"]["condition"] == "service_healthy"
    assert "healthcheck" in db
    url = bot["environment"]["COMMUNITY_BOT_DATABASE_URL"]
    assert url.startswith("postgresql://bot:") and "@db:5432/community" in url
    assert services["synapse"]["profiles"] == ["matrix"]
    assert services["prometheus"]["profiles"] == ["monitoring"]
    for service in services.values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), source
            else:
                assert source in compose["volumes"], source
    prometheus = yaml.safe_load((ROOT / "deploy/prometheus.yml").read_text())
    assert prometheus["scrape_configs"][0]["static_configs"][0]["targets"] == ["bot:8080"]


def test_the_container_config_is_valid_with_the_environment_compose_gives() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    env = {
        k: v.replace("${POSTGRES_PASSWORD}", "pw") if isinstance(v, str) else v
        for k, v in compose["services"]["bot"]["environment"].items()
    }
    env["WEB_TOKEN_ADA"] = "a-token"
    config = load_config(ROOT / "deploy/config.toml", env=env)
    assert config.model.web.host == "0.0.0.0" and config.model.web.port == 8080
    assert config.database_url() == "postgresql://bot:pw@db:5432/community"
    assert config.model.logging.format == "json"
