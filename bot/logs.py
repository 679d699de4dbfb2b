"""Where the bot's log goes and how it looks: text for a terminal, JSON lines for a collector.

Whatever the format, every secret the configuration names (and any password written in a URL)
is replaced before a line leaves the process, exception text included: a secret that slips into
a message or a traceback still never reaches the log.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime

from bot.config import Config

MASK = "********"
URL_PASSWORD = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://[^:/@\s]*):(?P<password>[^@\s]+)@")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonLines(logging.Formatter):
    """One JSON object a line: time, level, logger, message, and the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False)


class Redacting(logging.Formatter):
    """Formats with `inner`, then masks the secrets in the finished line."""

    def __init__(self, inner: logging.Formatter, secrets: Iterable[str]) -> None:
        super().__init__()
        self.inner = inner
        # Longest first, so a secret containing another is masked whole.
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(self.inner.format(record))

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return URL_PASSWORD.sub(rf"\g<scheme>:{MASK}@", text)


def formatter(style: str, secrets: Iterable[str]) -> logging.Formatter:
    inner = JsonLines() if style == "json" else logging.Formatter(TEXT_FORMAT)
    return Redacting(inner, secrets)


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler `configure` installs, so configuring again replaces it and no other (a
    test runner's capture stays)."""


def configure(config: Config | None) -> None:
    """Send the root logger's records to standard error in the configured format and level
    (`[logging]`), secrets masked; before a config is read, text at INFO."""
    section = config.model.logging if config is not None else None
    secrets = [s.reveal() for s in config.secrets.values()] if config is not None else []
    handler = _Handler(sys.stderr)
    handler.setFormatter(formatter(section.format if section else "text", secrets))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(section.level if section else "INFO")
    if config is not None:
        # httpx logs every request at INFO: a line per message of a fan-out drowns the log.
        logging.getLogger("httpx").setLevel(logging.WARNING)
