"""The contract suite's fixture: every adapter, one at a time, with a member on its platform."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.contract.subjects import (
    Subject,
    discord_subject,
    discourse_subject,
    fake_subject,
    matrix_subject,
    open_db,
    slack_subject,
    web_subject,
    whatsapp_subject,
)


@pytest.fixture(
    params=[
        "fake",
        "web",
        pytest.param("matrix", marks=pytest.mark.matrix),
        pytest.param("discord", marks=pytest.mark.discord),
        pytest.param("slack", marks=pytest.mark.slack),
        pytest.param("discourse", marks=pytest.mark.discourse),
        pytest.param("whatsapp", marks=pytest.mark.whatsapp),
    ]
)
async def subject(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Subject]:
    if request.param == "fake":
        async with fake_subject() as s:
            yield s
        return
    if request.param == "discord":
        async with discord_subject() as s:
            yield s
        return
    db = await open_db(tmp_path)
    try:
        if request.param == "web":
            async with web_subject(db) as s:
                yield s
        elif request.param == "slack":
            async with slack_subject(db) as s:
                yield s
        elif request.param == "discourse":
            async with discourse_subject(db) as s:
                yield s
        elif request.param == "whatsapp":
            async with whatsapp_subject(db) as s:
                yield s
        else:
            server = request.getfixturevalue("synapse")
            users = request.getfixturevalue("matrix_users")
            async with matrix_subject(db, server, users) as s:
                yield s
    finally:
        await db.close()
