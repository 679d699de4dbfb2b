"""Session fixtures for tests against a real Synapse homeserver (see ``tests/synapse.py``).

One Synapse process serves the whole test session: starting it costs a second or two plus,
on a fresh checkout, a one-off install. Tests share it, so they must not depend on a clean
server: create your own rooms, and do not assume who else has joined what.

If Synapse cannot be installed or started, the ``synapse`` fixture raises and every test
using it errors with the reason. That is deliberate: these tests never skip.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.synapse import MatrixUser, SynapseServer, start_synapse

#: The bot's account, then the community members the adapter tests talk to.
BOT_USER = "communitybot"
MEMBER_USERS = ("alice", "bob", "carol", "dave", "erin", "frank")


@pytest.fixture(scope="session")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SynapseServer]:
    """A running Synapse on 127.0.0.1, stopped at the end of the session."""
    server = start_synapse(tmp_path_factory.mktemp("synapse"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def matrix_users(synapse: SynapseServer) -> dict[str, MatrixUser]:
    """``communitybot`` and six members, registered once: name -> (user_id, password, token).

    Each access token is a fresh device of its own; tests that log in by password get
    another device, which is fine. Registrations run concurrently (Synapse hashes
    passwords in a thread pool), none as server admin, as in a real deployment.
    """
    names = (BOT_USER, *MEMBER_USERS)
    passwords = {name: f"{name}-{secrets.token_hex(8)}" for name in names}
    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        registered = dict(
            zip(
                names,
                pool.map(lambda name: synapse.register(name, passwords[name]), names),
                strict=True,
            )
        )
    return {
        name: MatrixUser(user_id, passwords[name], token)
        for name, (user_id, token) in registered.items()
    }
