"""The link that adds the bot to a Discord server, with exactly the permissions it uses."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import urlencode

PERMISSIONS = {
    "VIEW_CHANNEL": 1 << 10,
    "SEND_MESSAGES": 1 << 11,
    "EMBED_LINKS": 1 << 14,  # check-in summaries are embeds
    "READ_MESSAGE_HISTORY": 1 << 16,
    "MANAGE_EVENTS": 1 << 33,  # keep published scheduled events in step
    "MANAGE_THREADS": 1 << 34,  # archive and lock breakout threads at the end
    "CREATE_PUBLIC_THREADS": 1 << 35,  # a thread under each round for replies
    "CREATE_PRIVATE_THREADS": 1 << 36,  # breakout groups
    "SEND_MESSAGES_IN_THREADS": 1 << 38,
    "CREATE_EVENTS": 1 << 44,  # `event add --publish`
}
"""What the bot does on Discord, and why; nothing else is asked for."""
SCOPES = ("bot", "applications.commands")


def permissions() -> int:
    return sum(PERMISSIONS.values())


def application_id_of(token: str) -> str | None:
    """A bot token's first part is its user id (the application's id) in base64."""
    head = token.split(".", 1)[0]
    try:
        decoded = base64.b64decode(head + "=" * (-len(head) % 4), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded if decoded.isdigit() else None


def invite_url(application_id: str) -> str:
    query = {
        "client_id": application_id,
        "permissions": str(permissions()),
        "integration_type": "0",
        "scope": " ".join(SCOPES),
    }
    return "https://discord.com/oauth2/authorize?" + urlencode(query)
