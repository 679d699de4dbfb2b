"""Fixtures shared by the whole suite: databases, for real, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from hypothesis import settings

from bot.app import Running
from bot.testing import Harness
from tests.webchat_client import ChatClient

#: Synapse and its registered users, shared by the Matrix and the adapter contract tests.
pytest_plugins = ("tests.matrix.fixtures",)

PG_URL = os.environ.get("CB_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def truthy(value: str | None) -> bool:
    """An environment flag as CI services set it: `true`, `1`, `yes`, `on`, in any case."""
    return (value or "").strip().lower() in {"1", "true", "yes", "y", "on"}


IN_CI = truthy(os.environ.get("CI"))

# No deadline: a shared or slow machine must not turn a slow example into a failure. In CI
# the examples are derived from each test, so a run can be repeated exactly.
settings.register_profile("suite", deadline=None)
settings.register_profile("ci", settings.get_profile("suite"), derandomize=True)
settings.load_profile("ci" if IN_CI else "suite")


def _postgres_error() -> str | None:
    try:
        import psycopg

        with psycopg.connect(
            PG_URL.replace("postgresql://", "postgresql://", 1), connect_timeout=3
        ):
            return None
    except Exception as exc:  # any failure means: no usable server
        return f"PostgreSQL at {PG_URL} is not reachable ({exc.__class__.__name__}: {exc})"


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The PostgreSQL URL; skips off CI when there is no server, fails in CI."""
    problem = _postgres_error()
    if problem:
        if IN_CI:
            pytest.fail(f"{problem}; CI must run the PostgreSQL tests")
        pytest.skip(f"{problem}; these tests run against a real PostgreSQL")
    return PG_URL


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh schema on the PostgreSQL server for one test, dropped afterwards."""
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield f"{postgres_server}?options=-csearch_path%3D{schema}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def sqlite_url(tmp_path: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path}/bot.db"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test using this runs once on SQLite and once on PostgreSQL."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(name)
    return url


@pytest.fixture
async def harness(database_url: str) -> AsyncIterator[Harness]:
    async with Harness.open(database_url) as h:
        yield h


@pytest.fixture
async def chat(bot: Running) -> AsyncIterator[ChatClient]:
    """A web chat client on the module's `bot` fixture (a running bot with its web server)."""
    assert bot.web is not None
    client = ChatClient(f"http://127.0.0.1:{bot.web.port}")
    yield client
    await client.close()
