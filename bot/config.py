"""The typed configuration: one TOML file, secrets from the environment.

Everything is validated at load so a mistake is reported once, naming the dotted key and how
to fix it, before anything starts. Secrets are never in the file: a key ending in `_env` names
the environment variable that holds the secret, and `Secret` keeps the value out of reprs.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from bot import i18n
from bot.errors import ConfigError

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


class Secret:
    """A value read from the environment that must never be printed or logged."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _zone_name(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"unknown time zone {value!r}; use an IANA name such as 'Europe/London'"
        ) from exc
    return value


def _user_ref(value: str) -> str:
    platform, sep, user = value.partition(":")
    if not sep or not platform or not user:
        raise ValueError(f"{value!r} is not a 'platform:user-id' string, e.g. 'web:ada'")
    return value


class CommunitySection(Section):
    name: str = "My community"
    timezone: str = "UTC"
    organisers: list[str] = Field(default_factory=list)
    """The first organisers, as `platform:user-id` strings; more are added with `role`."""
    spaces: list[str] = Field(default_factory=list)
    """The community's main spaces on every platform, as `platform:space` strings: where
    `checkin open ... --in community` opens one round."""
    language: str = "en"
    """What the bot writes in when it knows nothing better about its reader."""
    languages: dict[str, str] = Field(default_factory=dict)
    """A space's own language, by `platform:space` (`"web:es" = "es"`): posts to the whole
    space use it; DMs use each member's."""

    @field_validator("language")
    @classmethod
    def _check_language(cls, value: str) -> str:
        return _language(value)

    @field_validator("languages")
    @classmethod
    def _check_languages(cls, value: dict[str, str]) -> dict[str, str]:
        return {space: _language(lang) for space, lang in value.items()}

    @field_validator("timezone")
    @classmethod
    def _check_zone(cls, value: str) -> str:
        return _zone_name(value)

    @field_validator("organisers")
    @classmethod
    def _check_organisers(cls, value: list[str]) -> list[str]:
        return [_user_ref(v) for v in value]

    @field_validator("spaces")
    @classmethod
    def _check_spaces(cls, value: list[str]) -> list[str]:
        for v in value:
            platform, sep, space = v.partition(":")
            if not (platform and sep and space):
                raise ValueError(f"{v!r} is not a 'platform:space' string, e.g. 'web:main'")
        return value


def _language(value: str) -> str:
    lang = i18n.supported(value)
    if lang is None:
        spoken = ", ".join(i18n.LANGUAGES)
        raise ValueError(f"{value!r} is not a language the bot speaks ({spoken})")
    return lang


class StorageSection(Section):
    data_dir: Path = Path("data")
    url_env: str | None = None
    """Names the environment variable holding a database URL (PostgreSQL); unset = SQLite."""


class WebUser(Section):
    name: str
    token_env: str


class WebSection(Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    public_url: str | None = None
    auth: Literal["open", "token"] = "open"
    """`open` trusts the name a browser gives (fine on loopback); `token` needs per-user tokens."""
    users: list[WebUser] = Field(default_factory=list)
    bot_name: str = "community-bot"


class DeliverySection(Section):
    max_attempts: int = Field(default=8, ge=1, le=100)
    grace_minutes: int = Field(default=60, ge=0)
    """A nudge due while the bot was down is still sent if at most this late."""
    workers: int = Field(default=4, ge=1, le=64)


def _matrix_room(value: str) -> str:
    """A room id (`!...`; since room version 12 without a server part) or an alias."""
    if len(value) < 2 or not (value[0] == "!" or (value[0] == "#" and ":" in value)):
        raise ValueError(
            f"{value!r} is not a Matrix room; use its id (!abc:example.org) "
            "or alias (#community:example.org)"
        )
    return value


class MatrixSection(Section):
    homeserver: str
    user_id: str
    password_env: str | None = None
    access_token_env: str | None = None
    device_name: str = "community-bot"
    rooms: list[str] = Field(default_factory=list)
    space: str | None = None
    command_prefix: str = Field(default="!", min_length=1, max_length=8)
    e2e: bool = False
    """Read and answer in encrypted rooms; keys are kept in `<data_dir>/matrix-store`."""
    exempt_from_rate_limit: bool = False
    """Set once Synapse's `override_ratelimit` exempts the bot: it then sends faster."""

    @field_validator("homeserver")
    @classmethod
    def _check_homeserver(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError(f"{value!r} is not a URL; use e.g. 'https://matrix.example.org'")
        return value.rstrip("/")

    @field_validator("user_id")
    @classmethod
    def _check_user(cls, value: str) -> str:
        if not value.startswith("@") or ":" not in value:
            raise ValueError(f"{value!r} is not a Matrix user id such as '@bot:example.org'")
        return value

    @field_validator("rooms")
    @classmethod
    def _check_rooms(cls, value: list[str]) -> list[str]:
        return [_matrix_room(v) for v in value]

    @field_validator("space")
    @classmethod
    def _check_space(cls, value: str | None) -> str | None:
        return None if value is None else _matrix_room(value)


def _snowflake(value: str) -> str:
    if not value.isdigit() or not 15 <= len(value) <= 21:
        raise ValueError(f"{value!r} is not a Discord id (turn on Developer Mode, Copy ID)")
    return value


class DiscordSection(Section):
    token_env: str
    """The environment variable holding the bot token (Developer Portal, Bot, Reset Token)."""
    guilds: list[str] = Field(default_factory=list, max_length=100)
    """The servers (guild ids) the bot serves and syncs its slash commands to."""
    roles: dict[str, str] = Field(default_factory=dict)
    """Discord role name -> community role, e.g. {"Catalyst" = "catalyst"}."""
    message_content: bool = False
    """Set once the privileged Message Content intent is switched on for the bot: `!`
    commands and thread replies are then read too."""
    members_intent: bool = False
    """Set once the privileged Server Members intent is on: joins and leaves are then seen."""
    command_prefix: str = Field(default="!", min_length=1, max_length=8)
    api_base: str = "https://discord.com/api/v10"
    gateway: str = "wss://gateway.discord.gg/"

    @field_validator("guilds")
    @classmethod
    def _check_guilds(cls, value: list[str]) -> list[str]:
        return [_snowflake(v) for v in value]

    @field_validator("roles")
    @classmethod
    def _check_roles(cls, value: dict[str, str]) -> dict[str, str]:
        known = ("member", "catalyst", "organiser")
        for name, role in value.items():
            if role not in known:
                raise ValueError(f"{name!r} maps to {role!r}; use one of {', '.join(known)}")
        return value


class EventsSection(Section):
    allow_private_urls: bool = False
    """Let `event import <url>` fetch from loopback, private and link-local addresses (a
    calendar server on the bot's own network); off, only the public internet."""


SLACK_COMMAND_WORDS = ("checkin", "breakout", "event", "nudge", "me", "role", "help", "report")
SLACK_RESERVED = frozenset(
    {
        "/me",
        "/join",
        "/leave",
        "/status",
        "/away",
        "/active",
        "/remind",
        "/invite",
        "/msg",
        "/dm",
        "/who",
        "/topic",
        "/rename",
        "/shrug",
        "/mute",
        "/search",
        "/feed",
        "/apps",
        "/collapse",
        "/expand",
        "/feedback",
        "/open",
        "/prefs",
        "/shortcuts",
        "/star",
        "/archive",
        "/kick",
        "/remove",
    }
)
"""Slack's own slash commands: an app cannot register these (the whole manifest is refused)."""
SLACK_DEFAULT_NAMES = {"me": "/cb-me"}
"""`/me` is Slack's own, so `me` has another name unless the config gives one."""


class SlackSection(Section):
    """A Slack workspace: Socket Mode (an app-level token, no public URL) or HTTP mode
    (Slack posts to `<web.public_url>/slack/events`, signed with the signing secret)."""

    mode: Literal["socket", "http"] = "socket"
    bot_token_env: str = "SLACK_BOT_TOKEN"
    app_token_env: str = "SLACK_APP_TOKEN"
    """Socket Mode only: the app-level token (`xapp-...`, scope `connections:write`)."""
    signing_secret_env: str = "SLACK_SIGNING_SECRET"
    """HTTP mode only: the app's signing secret."""
    api_url: str | None = None
    """The Web API's base URL; unset = https://slack.com/api/ (tests point it at a fake)."""
    app_name: str = Field(default="community-bot", min_length=1, max_length=35)
    commands: dict[str, str] = Field(default_factory=dict)
    """Slash command names, for a command word whose name another app already owns:
    `checkin = "/cb-checkin"`."""
    breakouts: Literal["channels", "threads"] = "channels"
    """Breakout groups as private channels (archived at the end) or as threads."""
    messages_per_minute: int = Field(default=300, ge=1, le=6000)
    """The workspace-wide sending rate; each channel also gets at most one a second."""
    organisers_from_admins: bool = False
    """Workspace admins and owners are organisers (on top of the roles given with `role`)."""
    catalyst_usergroup: str | None = Field(default=None, pattern=r"^S[A-Z0-9]+$")
    """A user group's id (`S0123ABCD`) whose members are catalysts."""

    @field_validator("commands")
    @classmethod
    def _check_commands(cls, value: dict[str, str]) -> dict[str, str]:
        for word, name in value.items():
            if word not in SLACK_COMMAND_WORDS:
                raise ValueError(
                    f"{word!r} is not a command word; use one of {', '.join(SLACK_COMMAND_WORDS)}"
                )
            if not (name.startswith("/") and 2 <= len(name) <= 32 and name == name.lower()):
                raise ValueError(f"{name!r} is not a slash command name such as '/cb-{word}'")
            if " " in name:
                raise ValueError(f"{name!r} has a space; a slash command is one word")
            if name in SLACK_RESERVED:
                raise ValueError(f"{name!r} is Slack's own command; choose e.g. '/cb-{word}'")
        if len(set(value.values())) != len(value):
            raise ValueError("two command words have the same slash command name")
        return value

    @field_validator("api_url")
    @classmethod
    def _check_api_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError(f"{value!r} is not a URL; use e.g. 'https://slack.com/api/'")
        return value

    def command_names(self) -> dict[str, str]:
        """Every slash command word -> the name registered in Slack."""
        return {
            word: self.commands.get(word, SLACK_DEFAULT_NAMES.get(word, f"/{word}"))
            for word in SLACK_COMMAND_WORDS
        }

    def secret_keys(self) -> list[str]:
        """The `*_env` keys this mode needs."""
        needed = "app_token_env" if self.mode == "socket" else "signing_secret_env"
        return ["bot_token_env", needed]


class DiscourseSection(Section):
    """A Discourse forum: the REST API as a bot user, and the forum's webhook to the bot."""

    base_url: str
    username: str
    """The bot user; its API key acts as this user (`Api-Username`)."""
    api_key_env: str
    webhook_secret_env: str
    categories: list[int] = Field(default_factory=list)
    """Where commands are taken from; empty means every category."""
    chat_channels: list[int] = Field(default_factory=list)
    """Chat channels commands are taken from (the chat plugin); empty means every one."""
    requests_per_minute: int = Field(default=60, ge=1, le=100_000)
    """Discourse's admin API limit (`DISCOURSE_MAX_ADMIN_API_REQS_PER_MINUTE`, 60 by default)."""
    rate_window_seconds: float = Field(default=60.0, gt=0)
    breakouts: Literal["pm", "chat"] = "pm"
    """Breakout groups as group personal messages, or as threads in `breakout_channel`."""
    breakout_channel: int | None = Field(default=None, validate_default=True)
    """The chat channel whose threads hold breakout groups (`breakouts = "chat"`)."""
    events_category: int | None = None
    """Import discourse-post-event events from this category (all when unset)."""
    import_events: bool = False
    events_poll_seconds: float = Field(default=300.0, ge=5)
    """How often the plugin's event list is read (one request each time)."""
    archive_tags: list[str] = Field(default_factory=list)
    """Tags for the summary topics the bot posts to the archive."""
    min_post_length: int = Field(default=20, ge=1)
    min_title_length: int = Field(default=15, ge=1)
    max_post_length: int = Field(default=32_000, ge=100)
    chat_max_length: int = Field(default=6_000, ge=100)
    max_webhook_body: int = Field(default=512 * 1024, ge=1024)

    @field_validator("breakout_channel")
    @classmethod
    def _check_breakout_channel(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is None and info.data.get("breakouts") == "chat":
            raise ValueError('breakouts = "chat" needs the chat channel id, e.g. 3')
        return value

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError(f"{value!r} is not a URL; use e.g. 'https://forum.example.org'")
        return value.rstrip("/")


class ArchiveSection(Section):
    """Where closed rounds and breakouts leave their collated summary for later searching."""

    place: str
    """`platform:space`, e.g. `discourse:c/12` (a category: each summary a new topic)."""

    @field_validator("place")
    @classmethod
    def _check_place(cls, value: str) -> str:
        platform, sep, space = value.partition(":")
        if not sep or not platform or not space:
            raise ValueError(f"{value!r} is not a 'platform:space' string, e.g. 'discourse:c/12'")
        return value


class WhatsAppSection(Section):
    """One business phone number on the WhatsApp Cloud API (see the README's WhatsApp part)."""

    phone_number_id: str = Field(pattern=r"^[0-9]{1,32}$")
    access_token_env: str
    app_secret_env: str
    """The Meta app's secret: every webhook is signed with it."""
    verify_token_env: str
    """The token typed into the Meta app's webhook settings, echoed back on verification."""
    api_base: str = "https://graph.facebook.com"
    api_version: str = Field(default="v23.0", pattern=r"^v[0-9]+\.[0-9]+$")
    webhook_path: str = Field(default="/whatsapp/webhook", pattern=r"^/[A-Za-z0-9/_-]*$")
    command_prefix: str = Field(default="/", min_length=1, max_length=8)
    messages_per_second: float = Field(default=80.0, gt=0, le=1000)
    """The number's throughput: 80 a second, 1,000 once Meta has upgraded it."""
    per_member_seconds: float = Field(default=6.0, ge=0, le=3600)
    per_member_burst: int = Field(default=10, ge=1, le=100)
    """Messages to one member come in bursts of at most this, then one per `per_member_seconds`."""
    template_language: str = Field(default="en", pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$")
    max_body_bytes: int = Field(default=512 * 1024, ge=1024, le=16 * 1024 * 1024)
    stale_after_hours: float = Field(default=24.0, gt=0)
    """A message older than this when its webhook arrives is not answered."""

    @field_validator("api_base")
    @classmethod
    def _check_base(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError(f"{value!r} is not a URL; use e.g. 'https://graph.facebook.com'")
        return value.rstrip("/")


class PromptsSection(Section):
    extra_dirs: list[Path] = Field(default_factory=list)


class LoggingSection(Section):
    format: Literal["text", "json"] = "text"
    """`json`: one JSON object a line, for a log collector; `text` for a terminal."""
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class ConfigModel(Section):
    community: CommunitySection = Field(default_factory=CommunitySection)
    storage: StorageSection = Field(default_factory=StorageSection)
    web: WebSection = Field(default_factory=WebSection)
    delivery: DeliverySection = Field(default_factory=DeliverySection)
    prompts: PromptsSection = Field(default_factory=PromptsSection)
    events: EventsSection = Field(default_factory=EventsSection)
    matrix: MatrixSection | None = None
    discord: DiscordSection | None = None
    logging: LoggingSection = Field(default_factory=LoggingSection)
    slack: SlackSection | None = None
    discourse: DiscourseSection | None = None
    archive: ArchiveSection | None = None
    whatsapp: WhatsAppSection | None = None


class Config:
    """A validated configuration plus the secrets it names, resolved from the environment."""

    def __init__(self, model: ConfigModel, secrets: Mapping[str, Secret], base: Path) -> None:
        self.model = model
        self.secrets = dict(secrets)
        self.base = base

    def secret(self, env: str) -> Secret:
        return self.secrets[env]

    @property
    def data_dir(self) -> Path:
        d = self.model.storage.data_dir
        return d if d.is_absolute() else self.base / d

    def database_url(self) -> str:
        env = self.model.storage.url_env
        if env:
            return self.secret(env).reveal()
        return f"sqlite:///{self.data_dir / 'community-bot.db'}"

    def describe(self) -> str:
        """The configuration as `check-config` shows it: secrets named, never shown."""
        dumped = self.model.model_dump(mode="json")
        lines = [f"{k}: {v}" for k, v in _flatten(dumped)]
        lines += [f"secret {name}: set" for name in sorted(self.secrets)]
        return "\n".join(lines)


def _flatten(d: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(d, dict):
        out: list[tuple[str, Any]] = []
        for k, v in d.items():
            out += _flatten(v, f"{prefix}{k}." if isinstance(v, dict) else f"{prefix}{k}")
            if isinstance(v, dict) and not v:
                out.append((f"{prefix}{k}", {}))
        return out
    return [(prefix.rstrip("."), d)]


def _secret_envs(model: ConfigModel) -> list[tuple[str, str]]:
    """(dotted key, env var name) for every secret the configuration refers to."""
    refs: list[tuple[str, str]] = []
    if model.storage.url_env:
        refs.append(("storage.url_env", model.storage.url_env))
    for i, user in enumerate(model.web.users):
        refs.append((f"web.users.{i}.token_env", user.token_env))
    if model.matrix:
        for key in ("password_env", "access_token_env"):
            env = getattr(model.matrix, key)
            if env:
                refs.append((f"matrix.{key}", env))
    if model.discord:
        refs.append(("discord.token_env", model.discord.token_env))
    if model.slack:
        for key in model.slack.secret_keys():
            refs.append((f"slack.{key}", getattr(model.slack, key)))
    if model.discourse:
        refs.append(("discourse.api_key_env", model.discourse.api_key_env))
        refs.append(("discourse.webhook_secret_env", model.discourse.webhook_secret_env))
    if model.whatsapp:
        for key in ("access_token_env", "app_secret_env", "verify_token_env"):
            refs.append((f"whatsapp.{key}", getattr(model.whatsapp, key)))
    return refs


def _known_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        ann = field.annotation
        args = [a for a in getattr(ann, "__args__", (ann,)) if isinstance(a, type)]
        current = next((a for a in args if issubclass(a, BaseModel)), None)
        if current is None:
            return []
    return list(getattr(current, "model_fields", {}))


def _explain(exc: ValidationError) -> ConfigError:
    err = exc.errors()[0]
    loc = tuple(err["loc"])
    key = ".".join(str(p) for p in loc) or "(top level)"
    if err["type"] == "extra_forbidden":
        known = _known_keys(ConfigModel, loc)
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(known)}"
        return ConfigError(key, f"unknown key; {hint}")
    if err["type"] == "missing":
        return ConfigError(key, "is required; add it to the file")
    return ConfigError(key, f"{err['msg']} (got {err.get('input')!r})")


def parse_config(data: Mapping[str, Any], env: Mapping[str, str], base: Path) -> Config:
    try:
        model = ConfigModel.model_validate(data)
    except ValidationError as exc:
        raise _explain(exc) from None
    secrets: dict[str, Secret] = {}
    for key, name in _secret_envs(model):
        value = env.get(name)
        if not value:
            raise ConfigError(key, f"environment variable {name} is not set; export {name}=...")
        secrets[name] = Secret(value)
    if model.matrix and not (model.matrix.password_env or model.matrix.access_token_env):
        raise ConfigError("matrix", "set password_env or access_token_env")
    if model.web.auth == "open" and model.web.host not in LOOPBACK:
        raise ConfigError(
            "web.auth",
            f"open mode trusts any name a browser gives, so it only listens on loopback; "
            f'set host = "127.0.0.1" or auth = "token" (host is {model.web.host!r})',
        )
    if model.web.auth == "token" and not model.web.users:
        raise ConfigError("web.users", "token mode needs at least one [[web.users]] entry")
    return Config(model, secrets, base)


def load_config(path: Path, env: Mapping[str, str] | None = None) -> Config:
    """Read and validate a configuration file; raises `ConfigError` on any problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read the file ({exc.strerror})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"not valid TOML: {exc}") from None
    return parse_config(data, os.environ if env is None else env, path.resolve().parent)
