"""Gateway dispatches as Discord sends them (shapes from the developer documentation's
examples and discord.py's own parsers), shared by the translation tests and the fake server."""

from __future__ import annotations

from typing import Any

GUILD = "1100000000000000001"
CHANNEL = "1100000000000000002"
THREAD = "1100000000000000777"
BOT = "1100000000000000100"
CATALYST_ROLE = "1100000000000000050"
APP = "1100000000000000100"


def user(uid: str, name: str, *, bot: bool = False) -> dict[str, Any]:
    return {
        "id": uid,
        "username": name.lower(),
        "global_name": name,
        "discriminator": "0",
        "avatar": None,
        "public_flags": 0,
        **({"bot": True} if bot else {}),
    }


def member(uid: str, name: str, *, roles: list[str] | None = None) -> dict[str, Any]:
    return {
        "user": user(uid, name),
        "nick": None,
        "roles": roles or [],
        "joined_at": "2026-01-05T10:00:00.000000+00:00",
        "deaf": False,
        "mute": False,
        "flags": 0,
        "pending": False,
        "permissions": "2248473465835073",
    }


def message_create(
    mid: str,
    author: str,
    name: str,
    content: str,
    *,
    channel: str = CHANNEL,
    guild: str | None = GUILD,
    mentions: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": mid,
        "type": 0,
        "channel_id": channel,
        "author": user(author, name),
        "content": content,
        "timestamp": "2026-03-02T09:00:00.000000+00:00",
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": mentions or [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "pinned": False,
        "flags": 0,
        "components": [],
    }
    if guild:
        data["guild_id"] = guild
        data["member"] = {k: v for k, v in member(author, name).items() if k != "user"}
    return data


def message_update(mid: str, author: str, name: str, content: str) -> dict[str, Any]:
    data = message_create(mid, author, name, content)
    data["edited_timestamp"] = "2026-03-02T09:05:00.000000+00:00"
    return data


def interaction(
    iid: str,
    kind: int,
    data: dict[str, Any],
    *,
    uid: str = "200",
    uname: str = "Ada",
    channel: str = CHANNEL,
    message_id: str | None = None,
    guild: str | None = GUILD,
    roles: list[str] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": iid,
        "application_id": APP,
        "type": kind,
        "data": data,
        "channel_id": channel,
        "channel": {"id": channel, "type": 0 if guild else 1},
        "token": f"tok-{iid}",
        "version": 1,
        "locale": "en-GB",
        "app_permissions": "2248473465835073",
        "entitlements": [],
        "attachment_size_limit": 10485760,
        "authorizing_integration_owners": {"0": GUILD},
        "context": 0 if guild else 1,
    }
    if guild:
        body["guild_id"] = guild
        body["guild_locale"] = "en-US"
        body["member"] = member(uid, uname, roles=roles)
    else:
        body["user"] = user(uid, uname)
    if message_id:
        body["message"] = message_create(message_id, BOT, "Bot", "Check-in", guild=guild)
    return body


def slash(iid: str, name: str, options: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
    return interaction(
        iid,
        2,
        {
            "id": "1200000000000000001",
            "name": name,
            "type": 1,
            "options": options,
            "guild_id": GUILD,
        },
        **kw,
    )


def scheduled_event(
    eid: str,
    *,
    name: str = "Game night",
    status: int = 1,
    recurrence: dict[str, Any] | None = None,
    location: str = "https://meet.example/game",
) -> dict[str, Any]:
    return {
        "id": eid,
        "guild_id": GUILD,
        "channel_id": None,
        "creator_id": "200",
        "creator": user("200", "Ada"),
        "name": name,
        "description": "Bring snacks",
        "scheduled_start_time": "2026-03-05T18:00:00+00:00",
        "scheduled_end_time": "2026-03-05T20:00:00+00:00",
        "privacy_level": 2,
        "status": status,
        "entity_type": 3,
        "entity_id": None,
        "entity_metadata": {"location": location},
        "user_count": 0,
        "image": None,
        "recurrence_rule": recurrence,
        "auto_start": False,
    }
