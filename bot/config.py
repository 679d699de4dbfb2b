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

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

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


class ConfigModel(Section):
    community: CommunitySection = Field(default_factory=CommunitySection)
    storage: StorageSection = Field(default_factory=StorageSection)
    web: WebSection = Field(default_factory=WebSection)
    delivery: DeliverySection = Field(default_factory=DeliverySection)
    prompts: PromptsSection = Field(default_factory=PromptsSection)
    matrix: MatrixSection | None = None
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
