"""The `[discord]` section: ids, role mapping, the token as a secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import parse_config
from bot.errors import ConfigError

pytestmark = pytest.mark.discord
GUILD = "123456789012345678"


def discord(**section: object) -> dict[str, object]:
    return {"discord": {"token_env": "DISCORD_TOKEN", **section}}


def test_a_valid_section_keeps_the_token_secret() -> None:
    config = parse_config(
        discord(guilds=[GUILD], roles={"Catalyst": "catalyst"}),
        {"DISCORD_TOKEN": "s3cret"},
        Path.cwd(),
    )
    section = config.model.discord
    assert section is not None and section.guilds == [GUILD]
    assert section.roles == {"Catalyst": "catalyst"} and not section.message_content
    assert config.secret("DISCORD_TOKEN").reveal() == "s3cret"
    assert "s3cret" not in config.describe()


@pytest.mark.parametrize(
    ("section", "says"),
    [
        ({"guilds": ["my-server"]}, "not a Discord id"),
        ({"roles": {"Catalyst": "admin"}}, "use one of"),
    ],
)
def test_mistakes_are_named(section: dict[str, object], says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        parse_config(discord(**section), {"DISCORD_TOKEN": "x"}, Path.cwd())


def test_the_token_must_be_in_the_environment() -> None:
    with pytest.raises(ConfigError, match="DISCORD_TOKEN"):
        parse_config(discord(), {}, Path.cwd())
