"""A real Synapse homeserver on loopback, for tests that must talk to Matrix for real.

Why a real server: the Matrix adapter's behaviour (rate limits, sync tokens, membership
races, what the server does to a message body) is defined by the homeserver, and a fake
would encode our own guesses. Synapse on SQLite starts in a few seconds, which is cheap
enough to pay once per test session.

Why a virtual environment of its own: Synapse pins and caps many libraries (Twisted,
attrs, pydantic, jsonschema, ...). Installing it next to the bot would let Synapse's
constraints decide the bot's dependency versions. So Synapse lives in a separate venv
(``CB_SYNAPSE_VENV``, default ``<repo>/.cache/synapse-venv``) that is created on first
use and reused afterwards; the tests only talk to it over HTTP.

Every failure here raises :class:`SynapseUnavailable` with the reason (pip output, the
tail of Synapse's log). Callers must let it propagate so tests fail in CI rather than
being skipped silently.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import hmac
import json
import logging
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from packaging.specifiers import SpecifierSet

log = logging.getLogger(__name__)

#: The Synapse release line the suite is known to work with. Bump deliberately:
#: Synapse's config keys and defaults change between releases.
SYNAPSE_REQUIREMENT = "matrix-synapse~=1.163.0"

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_VENV = REPO_ROOT / ".cache" / "synapse-venv"

#: Installing pulls ~60 wheels; leave room for a slow mirror but do not hang CI forever.
INSTALL_TIMEOUT_S = 900.0
#: Synapse on SQLite is usually serving within a few seconds.
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
HTTP_TIMEOUT_S = 10.0

SERVER_NAME = "localhost"


class SynapseUnavailable(RuntimeError):
    """Synapse could not be installed, started or used; the message says why."""


@dataclass(frozen=True)
class SynapseInstall:
    """A virtual environment holding Synapse."""

    venv: Path
    version: str
    #: Seconds spent creating the venv and installing, or ``None`` if it was already there.
    install_seconds: float | None

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"


class MatrixUser(NamedTuple):
    """A registered account: what a test needs to log in as it or act with its token."""

    user_id: str
    password: str
    access_token: str


def synapse_venv_path() -> Path:
    """Where Synapse's own virtual environment lives (``CB_SYNAPSE_VENV`` overrides)."""
    configured = os.environ.get("CB_SYNAPSE_VENV")
    return Path(configured).expanduser().resolve() if configured else DEFAULT_VENV


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])


def _installed_version(python: Path) -> str | None:
    """The matrix-synapse version importable by ``python``, or ``None``."""
    if not python.exists():
        return None
    probe = subprocess.run(
        [
            str(python),
            "-c",
            "import importlib.metadata as m, synapse; print(m.version('matrix-synapse'))",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return probe.stdout.strip() if probe.returncode == 0 else None


def _run_install_step(argv: list[str], what: str, deadline: float) -> None:
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=max(1.0, deadline - time.monotonic()),
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise SynapseUnavailable(
            f"Timed out after {INSTALL_TIMEOUT_S:.0f} s while trying to {what}: {' '.join(argv)}"
        ) from exc
    if done.returncode != 0:
        raise SynapseUnavailable(
            f"Could not {what} (exit status {done.returncode}): {' '.join(argv)}\n"
            f"{_tail(done.stdout + done.stderr)}"
        )


def ensure_synapse_installed(venv: Path | None = None) -> SynapseInstall:
    """Return a venv with a matching Synapse, creating it on first use.

    An exclusive ``fcntl`` lock on ``<venv>.lock`` serialises installers, so parallel
    pytest processes (xdist workers, two terminals) never run pip into the same venv at
    once; whoever waits re-checks after getting the lock and usually finds it done.
    """
    venv = venv or synapse_venv_path()
    wanted = SpecifierSet(SYNAPSE_REQUIREMENT.removeprefix("matrix-synapse"))
    python = venv / "bin" / "python"

    version = _installed_version(python)
    if version is not None and version in wanted:
        return SynapseInstall(venv, version, None)

    lock_path = venv.with_name(venv.name + ".lock")
    try:
        venv.parent.mkdir(parents=True, exist_ok=True)
        lock_file = lock_path.open("w")
    except OSError as exc:
        raise SynapseUnavailable(
            f"Cannot create Synapse's venv at {venv} (set CB_SYNAPSE_VENV elsewhere?): {exc}"
        ) from exc
    with lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            version = _installed_version(python)
            if version is not None and version in wanted:
                return SynapseInstall(venv, version, None)

            started = time.monotonic()
            deadline = started + INSTALL_TIMEOUT_S
            log.warning("Installing %s into %s (first use)", SYNAPSE_REQUIREMENT, venv)
            if not python.exists():
                # The interpreter running the tests, not whatever "python3" is on PATH:
                # it is known to be a supported version, and venv uses its base install.
                _run_install_step(
                    [sys.executable, "-m", "venv", str(venv)], "create Synapse's venv", deadline
                )
            _run_install_step(
                [
                    str(python),
                    "-m",
                    "pip",
                    "install",
                    "--disable-pip-version-check",
                    "--quiet",
                    # Wheels only: building Synapse from source needs a Rust toolchain, and
                    # a missing wheel should fail quickly with pip's reason, not compile.
                    "--only-binary=:all:",
                    SYNAPSE_REQUIREMENT,
                ],
                f"pip install {SYNAPSE_REQUIREMENT}",
                deadline,
            )
            elapsed = time.monotonic() - started
            version = _installed_version(python)
            if version is None or version not in wanted:
                raise SynapseUnavailable(
                    f"pip reported success but {python} cannot import Synapse "
                    f"{SYNAPSE_REQUIREMENT} (found {version!r})"
                )
            log.warning("Installed Synapse %s in %.1f s", version, elapsed)
            return SynapseInstall(venv, version, elapsed)
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def _free_loopback_port() -> int:
    """A port the kernel just handed out on 127.0.0.1.

    Binding port 0 and closing leaves a tiny window in which another process could take
    the port; if that happens Synapse fails to bind and :func:`start_synapse` reports it.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _write_signing_key(path: Path) -> None:
    """Write an ed25519 signing key in Synapse's format: ``ed25519 <version> <seed>``.

    An ed25519 private key is any 32 random bytes (the seed), stored unpadded-base64,
    which is exactly what ``signedjson.key.generate_signing_key`` + ``write_signing_keys``
    produce. Doing it here saves running Synapse once more with ``--generate-keys``
    (about two seconds of imports) per session.
    """
    seed = base64.b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    path.write_text(f"ed25519 a_{secrets.token_hex(2)} {seed}\n")


# Rates and bursts high enough that no test is ever throttled by accident (Synapse's
# default for messages is 0.2/s with a burst of 10). These are exactly the limiters read by
# synapse/config/ratelimiting.py in 1.163. Synapse ignores keys it does not know, so a
# misspelt one silently keeps the default: check that file when bumping Synapse.
# Tests of our own back-off should get a 429 from a limiter they lower on purpose.
_GENEROUS = {"per_second": 1000, "burst_count": 1000}
_RATE_LIMITS: dict[str, Any] = {
    "rc_message": _GENEROUS,
    "rc_registration": _GENEROUS,
    "rc_registration_token_validity": _GENEROUS,
    "rc_login": {
        "address": _GENEROUS,
        "account": _GENEROUS,
        "failed_attempts": _GENEROUS,
    },
    "rc_joins": {"local": _GENEROUS, "remote": _GENEROUS},
    "rc_joins_per_room": _GENEROUS,
    "rc_room_creation": _GENEROUS,
    "rc_invites": {"per_room": _GENEROUS, "per_user": _GENEROUS, "per_issuer": _GENEROUS},
    "rc_3pid_validation": _GENEROUS,
    "rc_third_party_invite": _GENEROUS,
    "rc_presence": {"per_user": _GENEROUS},
    "rc_delayed_event_mgmt": _GENEROUS,
    "rc_reports": _GENEROUS,
    "rc_admin_redaction": _GENEROUS,
    "rc_media_create": _GENEROUS,
    "rc_key_requests": _GENEROUS,
    "rc_user_directory": _GENEROUS,
    "rc_profile": _GENEROUS,
}


def _homeserver_config(workdir: Path, port: int, shared_secret: str) -> dict[str, Any]:
    """A minimal single-process, client-API-only homeserver config."""
    return {
        "server_name": SERVER_NAME,
        "public_baseurl": f"http://127.0.0.1:{port}/",
        "pid_file": str(workdir / "homeserver.pid"),
        "report_stats": False,
        # Only the client (and admin) API on loopback; no federation listener at all.
        "listeners": [
            {
                "port": port,
                "type": "http",
                "tls": False,
                "bind_addresses": ["127.0.0.1"],
                "x_forwarded": False,
                "resources": [{"names": ["client"], "compress": False}],
            }
        ],
        "database": {
            "name": "sqlite3",
            "args": {"database": str(workdir / "homeserver.db")},
        },
        "log_config": str(workdir / "log_config.yaml"),
        "media_store_path": str(workdir / "media_store"),
        "signing_key_path": str(workdir / "signing.key"),
        # Nobody to fetch keys from on loopback, and no one to federate with.
        "trusted_key_servers": [],
        "suppress_key_server_warning": True,
        "federation_domain_whitelist": [],
        "enable_registration": False,
        "registration_shared_secret": shared_secret,
        "macaroon_secret_key": secrets.token_hex(32),
        "form_secret": secrets.token_hex(32),
        # Synapse's default (12) spends ~0.25 s of CPU per password hash; tests log in a lot
        # and hash nothing worth protecting.
        "bcrypt_rounds": 4,
        "presence": {"enabled": True},
        "url_preview_enabled": False,
        **_RATE_LIMITS,
    }


def _log_config(log_file: Path) -> dict[str, Any]:
    """Python ``logging.config.dictConfig`` for Synapse: WARNING and above, to a file."""
    return {
        "version": 1,
        "formatters": {
            "precise": {
                "format": "%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - "
                "%(request)s - %(message)s"
            }
        },
        "filters": {"context": {"()": "synapse.logging.context.LoggingContextFilter"}},
        "handlers": {
            "file": {
                "class": "logging.FileHandler",
                "formatter": "precise",
                "filters": ["context"],
                "filename": str(log_file),
                "encoding": "utf8",
            }
        },
        "root": {"level": "WARNING", "handlers": ["file"]},
        "disable_existing_loggers": False,
    }


def _http_json(
    method: str, url: str, body: dict[str, Any] | None = None, timeout: float = HTTP_TIMEOUT_S
) -> dict[str, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        result: dict[str, Any] = json.load(response)
        return result


@dataclass
class SynapseServer:
    """A running Synapse subprocess and what tests need to talk to it."""

    base_url: str
    server_name: str
    workdir: Path
    registration_shared_secret: str = field(repr=False)
    process: subprocess.Popen[bytes] = field(repr=False)
    #: Seconds from spawning the process to answering ``/_matrix/client/versions``.
    startup_seconds: float = 0.0

    @property
    def log_path(self) -> Path:
        """Synapse's own log (WARNING and above)."""
        return self.workdir / "homeserver.log"

    @property
    def console_path(self) -> Path:
        """Synapse's stdout/stderr: errors raised before logging is configured land here."""
        return self.workdir / "console.log"

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the console output and the log, for error messages."""
        parts = []
        for path in (self.console_path, self.log_path):
            with contextlib.suppress(OSError):
                text = path.read_text(errors="replace").strip()
                if text:
                    parts.append(f"--- {path.name} ---\n{_tail(text, lines)}")
        return "\n".join(parts) or "(Synapse wrote nothing)"

    def user_id(self, localpart: str) -> str:
        return f"@{localpart}:{self.server_name}"

    def register(self, username: str, password: str, admin: bool = False) -> tuple[str, str]:
        """Create a user with the shared-secret admin API; return ``(user_id, access_token)``.

        This works with ``enable_registration: false``, which keeps the server closed to
        anything but the test suite. The MAC is HMAC-SHA1 keyed with the shared secret over
        ``nonce \\0 username \\0 password \\0 admin|notadmin``; each nonce is single-use.
        """
        url = f"{self.base_url}/_synapse/admin/v1/register"
        try:
            nonce = str(_http_json("GET", url)["nonce"])
            mac = hmac.new(self.registration_shared_secret.encode(), digestmod=hashlib.sha1)
            for part in (nonce, username, password):
                mac.update(part.encode())
                mac.update(b"\x00")
            mac.update(b"admin" if admin else b"notadmin")
            reply = _http_json(
                "POST",
                url,
                {
                    "nonce": nonce,
                    "username": username,
                    "password": password,
                    "admin": admin,
                    "mac": mac.hexdigest(),
                },
            )
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            raise SynapseUnavailable(
                f"Registering {username!r} failed: HTTP {exc.code} {detail}"
            ) from exc
        return str(reply["user_id"]), str(reply["access_token"])

    def rss_bytes(self) -> int:
        """Resident memory of the Synapse process, from ``/proc/<pid>/status``."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise SynapseUnavailable(f"No VmRSS for Synapse process {self.process.pid}")

    def stop(self) -> None:
        """Terminate Synapse (SIGTERM lets it close the database), SIGKILL if it hangs."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            log.warning("Synapse ignored SIGTERM for %.0f s; killing it", STOP_TIMEOUT_S)
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT_S)

    def __enter__(self) -> SynapseServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _wait_until_serving(server: SynapseServer, deadline: float) -> None:
    """Poll the versions endpoint until Synapse answers, it exits, or time runs out."""
    url = f"{server.base_url}/_matrix/client/versions"
    last_error = "no attempt made"
    while True:
        exit_code = server.process.poll()
        if exit_code is not None:
            raise SynapseUnavailable(
                f"Synapse exited with status {exit_code} during start-up.\n{server.log_tail()}"
            )
        try:
            if "versions" in _http_json("GET", url, timeout=1.0):
                return
            last_error = "reply without 'versions'"
        except (OSError, ValueError) as exc:  # refused, reset, timeout, not JSON yet
            last_error = repr(exc)
        if time.monotonic() >= deadline:
            raise SynapseUnavailable(
                f"Synapse did not answer {url} within {START_TIMEOUT_S:.0f} s "
                f"(last error: {last_error}).\n{server.log_tail()}"
            )
        time.sleep(0.05)


def _launch(
    install: SynapseInstall, workdir: Path, shared_secret: str, deadline: float
) -> SynapseServer:
    """Write the config for a fresh port, spawn Synapse and wait until it serves."""
    port = _free_loopback_port()
    config_path = workdir / "homeserver.yaml"
    # JSON is valid YAML, and keeps PyYAML out of the bot's venv requirements.
    config_path.write_text(json.dumps(_homeserver_config(workdir, port, shared_secret), indent=2))
    log_file = workdir / "homeserver.log"
    log_file.unlink(missing_ok=True)  # so an error's log tail is this attempt's
    (workdir / "log_config.yaml").write_text(json.dumps(_log_config(log_file), indent=2))
    if not (workdir / "signing.key").exists():
        _write_signing_key(workdir / "signing.key")

    started = time.monotonic()
    with (workdir / "console.log").open("wb") as console:
        process = subprocess.Popen(
            [str(install.python), "-m", "synapse.app.homeserver", "-c", str(config_path)],
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=console,
            stderr=subprocess.STDOUT,
        )
    server = SynapseServer(
        base_url=f"http://127.0.0.1:{port}",
        server_name=SERVER_NAME,
        workdir=workdir,
        registration_shared_secret=shared_secret,
        process=process,
    )
    try:
        _wait_until_serving(server, deadline)
    except BaseException:
        server.stop()
        raise
    server.startup_seconds = time.monotonic() - started
    return server


def start_synapse(
    workdir: Path, *, install: SynapseInstall | None = None, timeout: float = START_TIMEOUT_S
) -> SynapseServer:
    """Install Synapse if needed, configure it in ``workdir`` and start it on loopback.

    Returns once the client API answers (``timeout`` bounds the start, not the install).
    The caller owns the process and must call :meth:`SynapseServer.stop` (or use the
    server as a context manager). If another process grabs the chosen port before Synapse
    binds it, Synapse is started again on a new port, up to three times.
    """
    install = install or ensure_synapse_installed()
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    shared_secret = secrets.token_hex(32)
    deadline = time.monotonic() + timeout
    for attempt in range(1, 4):
        try:
            server = _launch(install, workdir, shared_secret, deadline)
        except SynapseUnavailable as exc:
            if attempt < 3 and "Address already in use" in str(exc):
                log.warning("Synapse's port was taken before it could bind; retrying")
                continue
            raise
        log.warning(
            "Synapse %s serving at %s after %.1f s",
            install.version,
            server.base_url,
            server.startup_seconds,
        )
        return server
    raise AssertionError("unreachable")
