"""The web chat API against its description (`adapters/webchat/openapi.yaml`): schemathesis
generates valid and invalid requests for every operation and sends them to the real bot in a
process of its own. No answer may be a 500, and every answer must be one the description
documents, shaped as it says; invalid input must be refused with a 4xx."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.routing import Route

from adapters.webchat.adapter import WebChat
from bot.clock import SystemClock
from tests.bot_process import ROOT, free_port

DESCRIPTION = ROOT / "adapters" / "webchat" / "openapi.yaml"
EXAMPLES = 40
"""Per operation and mode: about half a minute for the whole run on a shared machine."""

schema = schemathesis.openapi.from_path(DESCRIPTION)
schema.config.generation.update(
    max_examples=EXAMPLES,
    deterministic=True,  # the same inputs on every run, so CI does not flake
    modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE],
)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@pytest.fixture(scope="module")
def bot_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`community-bot run` on the example config; its log is checked for errors at the end."""
    data = tmp_path_factory.mktemp("openapi")
    log = data / "bot.log"
    port = free_port()
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--config", str(ROOT / "config.example.toml"),
             "--port", str(port), "--data-dir", str(data / "data")],
            stdout=subprocess.PIPE, stderr=err, cwd=data,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        assert f":{port}/" in line, line + log.read_text()
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    logged = log.read_text()
    assert "Traceback" not in logged and " ERROR " not in logged, logged


@schema.parametrize()
def test_every_answer_is_described_and_none_is_a_500(case: schemathesis.Case, bot_url: str) -> None:
    case.call_and_validate(base_url=bot_url, checks=CHECKS)


def test_every_operation_the_web_chat_serves_is_described() -> None:
    chat = WebChat(None, SystemClock())  # type: ignore[arg-type]  # routes only: no storage
    served = {
        (route.path, method.lower())
        for route in chat.http_routes()
        if isinstance(route, Route) and route.path.startswith("/api/")
        for method in route.methods or ()
        if method != "HEAD"
    }
    described = {
        (path, method) for path, ops in schema.raw_schema["paths"].items() for method in ops
    }
    assert served == described - {("/healthz", "get")}
