"""How long the dashboard takes to render for a large community, and how big the page is.

    .venv/bin/python bench/dashboard_page.py [members]

Starts the bot in-process on a temporary SQLite database, adds `members` members (each with
one identity and one audit entry), signs an organiser in, and times GET /dashboard.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bot.app import running
from bot.config import parse_config
from bot.dashboard.auth import COOKIE, open_session
from bot.dashboard.paging import PAGE_SIZE
from bot.models import AuditEntry, Identity, Member, Role


async def main(count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config = parse_config({"storage": {"data_dir": tmp}}, {}, Path(tmp))
        async with running(config, port=0, background=False) as run:
            assert run.web is not None
            bot = run.bot
            now = bot.clock.now()
            async with bot.db.session() as s:
                people = [
                    Member(
                        community_id=bot.community.id,
                        display_name=f"member {i}",
                        role=Role.ORGANISER if i == 0 else Role.MEMBER,
                        created_at=now,
                    )
                    for i in range(count)
                ]
                s.add_all(people)
                await s.flush()
                for m in people:
                    assert m.id is not None
                    s.add(
                        Identity(
                            member_id=m.id,
                            platform="web",
                            external_id=f"m{m.id}",
                            display_name=m.display_name,
                        )
                    )
                    s.add(
                        AuditEntry(
                            community_id=bot.community.id,
                            actor_member_id=people[0].id,
                            action="role.change",
                            detail={"member_id": m.id},
                            at=now,
                        )
                    )
            assert people[0].id is not None
            async with bot.db.session() as s:
                cookie = await open_session(s, people[0].id, now)
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{run.web.port}", cookies={COOKIE: cookie}, timeout=60
            ) as client:
                times, size = [], 0
                for _ in range(5):
                    start = time.perf_counter()
                    r = await client.get("/dashboard")
                    times.append(time.perf_counter() - start)
                    assert r.status_code == 200
                    size = len(r.content)
    print(
        f"members={count} rows_per_list={PAGE_SIZE} "
        f"median_ms={statistics.median(times) * 1000:.0f} max_ms={max(times) * 1000:.0f} "
        f"page_kb={size / 1024:.0f}"
    )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000))
