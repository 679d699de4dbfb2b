"""Recorded Slack payloads, in the shapes Slack's docs and slack-bolt's test fixtures show.

Ids follow Slack's forms: T team, U user, C channel, G/C private channel, D direct message,
`ts` as seconds with six decimals, event ids `Ev…`.
"""

from __future__ import annotations

from typing import Any

TEAM = "T0001"
BOT = "U0BOT"
ALICE = "U0ALICE"
BOB = "U0BOB"
GENERAL = "C0GENERAL"
DM_ALICE = "D0ALICE"


def callback(event: dict[str, Any], event_id: str = "Ev0001") -> dict[str, Any]:
    """An Events API `event_callback` around `event`."""
    return {
        "token": "verification-token",
        "team_id": TEAM,
        "api_app_id": "A0APP",
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": 1767225600,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": TEAM,
                "user_id": BOT,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": "4-eyJldCI6Im1lc3NhZ2UifQ",
    }


def message(
    text: str,
    *,
    user: str = ALICE,
    channel: str = GENERAL,
    ts: str = "1767225600.000100",
    thread_ts: str | None = None,
    channel_type: str = "channel",
    **extra: Any,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "client_msg_id": "f0582a78-72db-4feb-b2f3-1e47d66365c8",
        "type": "message",
        "text": text,
        "user": user,
        "ts": ts,
        "blocks": [
            {
                "type": "rich_text",
                "block_id": "Sesm",
                "elements": [
                    {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}
                ],
            }
        ],
        "team": TEAM,
        "channel": channel,
        "event_ts": ts,
        "channel_type": channel_type,
        **extra,
    }
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
        event["parent_user_id"] = BOT
    return event


def message_changed(
    new_text: str, old_text: str, *, ts: str = "1767225600.000100", thread_ts: str | None = None
) -> dict[str, Any]:
    new = {
        "type": "message",
        "text": new_text,
        "user": ALICE,
        "team": TEAM,
        "ts": ts,
        "edited": {"user": ALICE, "ts": "1767225700.000000"},
        "client_msg_id": "f0582a78-72db-4feb-b2f3-1e47d66365c8",
    }
    if thread_ts:
        new["thread_ts"] = thread_ts
    return {
        "type": "message",
        "subtype": "message_changed",
        "message": new,
        "previous_message": {"type": "message", "text": old_text, "user": ALICE, "ts": ts},
        "channel": GENERAL,
        "hidden": True,
        "ts": "1767225700.000200",
        "event_ts": "1767225700.000200",
        "channel_type": "channel",
    }


def app_mention(text: str, ts: str = "1767225600.000300") -> dict[str, Any]:
    return {
        "type": "app_mention",
        "user": ALICE,
        "text": text,
        "ts": ts,
        "channel": GENERAL,
        "event_ts": ts,
        "team": TEAM,
    }


def reaction_added(ts: str, reaction: str = "raised_hands", user: str = ALICE) -> dict[str, Any]:
    return {
        "type": "reaction_added",
        "user": user,
        "reaction": reaction,
        "item_user": BOT,
        "item": {"type": "message", "channel": GENERAL, "ts": ts},
        "event_ts": "1767225650.000400",
    }


def member_joined(user: str = BOB, channel: str = GENERAL) -> dict[str, Any]:
    return {
        "type": "member_joined_channel",
        "user": user,
        "channel": channel,
        "channel_type": "C",
        "team": TEAM,
        "event_ts": "1767225660.000500",
    }


def member_left(user: str = BOB, channel: str = GENERAL) -> dict[str, Any]:
    return {
        "type": "member_left_channel",
        "user": user,
        "channel": channel,
        "channel_type": "C",
        "team": TEAM,
        "event_ts": "1767225670.000600",
    }


def slash(command: str, text: str, *, channel: str = GENERAL, trigger: str = "111.222.aaa"):
    """A slash command's form fields (Slack posts them form-encoded)."""
    return {
        "token": "verification-token",
        "team_id": TEAM,
        "team_domain": "community",
        "channel_id": channel,
        "channel_name": "directmessage" if channel.startswith("D") else "general",
        "user_id": ALICE,
        "user_name": "alice",
        "command": command,
        "text": text,
        "api_app_id": "A0APP",
        "is_enterprise_install": "false",
        "response_url": "https://hooks.slack.com/commands/T0001/111/xxx",
        "trigger_id": trigger,
    }


def block_actions(value: str, *, ts: str, action_id: str = "cb.0", thread_ts: str | None = None):
    message: dict[str, Any] = {
        "type": "message",
        "user": BOT,
        "ts": ts,
        "bot_id": "B0BOT",
        "text": "A round opens",
        "team": TEAM,
    }
    if thread_ts:
        message["thread_ts"] = thread_ts
    return {
        "type": "block_actions",
        "user": {"id": ALICE, "username": "alice", "name": "alice", "team_id": TEAM},
        "api_app_id": "A0APP",
        "token": "verification-token",
        "container": {
            "type": "message",
            "message_ts": ts,
            "channel_id": GENERAL,
            "is_ephemeral": False,
        },
        "trigger_id": "3701415066658.3485157640.72f11de3d52bb9593d6931af772a323e",
        "team": {"id": TEAM, "domain": "community"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": GENERAL, "name": "general"},
        "message": message,
        "state": {"values": {}},
        "response_url": "https://hooks.slack.com/actions/T0001/111/xxx",
        "actions": [
            {
                "action_id": action_id,
                "block_id": "x1bB",
                "text": {"type": "plain_text", "text": "Answer", "emoji": True},
                "value": value,
                "type": "button",
                "action_ts": "1767225680.000700",
            }
        ],
    }


def view_submission(metadata: str, text: str, view_id: str = "V0VIEW1") -> dict[str, Any]:
    return {
        "type": "view_submission",
        "team": {"id": TEAM, "domain": "community"},
        "user": {"id": ALICE, "username": "alice", "name": "alice", "team_id": TEAM},
        "api_app_id": "A0APP",
        "token": "verification-token",
        "trigger_id": "3701415066659.3485157640.b0b0",
        "view": {
            "id": view_id,
            "team_id": TEAM,
            "type": "modal",
            "callback_id": "cb.form",
            "private_metadata": metadata,
            "hash": "1767225690.abcdef",
            "state": {"values": {"answer": {"text": {"type": "plain_text_input", "value": text}}}},
            "title": {"type": "plain_text", "text": "Check-in"},
            "app_id": "A0APP",
            "bot_id": "B0BOT",
        },
        "response_urls": [],
        "is_enterprise_install": False,
    }
