"""Proves the Synapse fixtures work end to end with real matrix-nio clients.

If these fail, every Matrix adapter test will fail too; look here first.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
from nio import (
    AsyncClient,
    JoinResponse,
    LoginResponse,
    RoomCreateResponse,
    RoomInviteResponse,
    RoomMessageText,
    RoomSendResponse,
    SyncResponse,
    WhoamiResponse,
)

from tests.synapse import MatrixUser, SynapseServer

pytestmark = pytest.mark.matrix

#: Upper bound for anything that should take milliseconds on loopback.
DEADLINE_S = 20.0


@asynccontextmanager
async def nio_client(server: SynapseServer, user: MatrixUser) -> AsyncIterator[AsyncClient]:
    """A client using the user's registration token, closed afterwards."""
    client = AsyncClient(server.base_url, user.user_id)
    client.access_token = user.access_token
    try:
        yield client
    finally:
        await client.close()


async def sync_until(client: AsyncClient, done: Callable[[SyncResponse], bool]) -> SyncResponse:
    """Long-poll /sync until ``done`` accepts a response; fail after DEADLINE_S.

    Each /sync returns as soon as something new arrives (or after 1 s), so no sleeping.
    """
    async with asyncio.timeout(DEADLINE_S):
        while True:
            response = await client.sync(timeout=1000)
            assert isinstance(response, SyncResponse), response
            if done(response):
                return response


@pytest.mark.asyncio
async def test_registered_tokens_identify_their_users(
    synapse: SynapseServer, matrix_users: dict[str, MatrixUser]
) -> None:
    assert set(matrix_users) == {"communitybot", "alice", "bob", "carol", "dave", "erin", "frank"}

    async def whoami(user: MatrixUser) -> str:
        async with nio_client(synapse, user) as client:
            response = await client.whoami()
            assert isinstance(response, WhoamiResponse), response
            return response.user_id

    identities = await asyncio.gather(*(whoami(user) for user in matrix_users.values()))
    assert identities == [user.user_id for user in matrix_users.values()]
    assert matrix_users["communitybot"].user_id == "@communitybot:localhost"


@pytest.mark.asyncio
async def test_invited_member_joins_and_receives_messages_verbatim(
    synapse: SynapseServer, matrix_users: dict[str, MatrixUser]
) -> None:
    alice_user, bob_user = matrix_users["alice"], matrix_users["bob"]
    messages = [
        "Hello Bob, welcome to the check-in room.",
        "@room weekly check-in starts now: what did you ship? <b>not html</b> *not md*",
    ]

    alice = AsyncClient(synapse.base_url, alice_user.user_id)
    try:
        login = await alice.login(alice_user.password, device_name="smoke-test")
        assert isinstance(login, LoginResponse), login
        assert login.user_id == alice_user.user_id

        created = await alice.room_create(name="Smoke test check-in")
        assert isinstance(created, RoomCreateResponse), created
        room_id = created.room_id

        invited = await alice.room_invite(room_id, bob_user.user_id)
        assert isinstance(invited, RoomInviteResponse), invited

        async with nio_client(synapse, bob_user) as bob:
            await sync_until(bob, lambda sync: room_id in sync.rooms.invite)
            joined = await bob.join(room_id)
            assert isinstance(joined, JoinResponse), joined
            assert joined.room_id == room_id

            event_ids = []
            for body in messages:
                sent = await alice.room_send(
                    room_id, "m.room.message", {"msgtype": "m.text", "body": body}
                )
                assert isinstance(sent, RoomSendResponse), sent
                event_ids.append(sent.event_id)

            received: list[RoomMessageText] = []

            def got_all(sync: SyncResponse) -> bool:
                room = sync.rooms.join.get(room_id)
                if room is not None:
                    received.extend(
                        event
                        for event in room.timeline.events
                        if isinstance(event, RoomMessageText)
                    )
                return len(received) >= len(messages)

            await sync_until(bob, got_all)

        assert [event.event_id for event in received] == event_ids
        assert [event.body for event in received] == messages
        assert all(event.sender == alice_user.user_id for event in received)
    finally:
        await alice.close()
