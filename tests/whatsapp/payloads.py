"""Webhook payloads as the WhatsApp Cloud API posts them (shapes recorded from Meta's reference
and pywa's test fixtures), built with the ids and times a test needs."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any

PHONE_NUMBER_ID = "106540352242922"
DISPLAY_NUMBER = "15550783881"
WABA_ID = "102290129340398"


def wamid() -> str:
    return f"wamid.HBgL{uuid.uuid4().hex.upper()}"


def envelope(value: dict[str, Any], phone_number_id: str = PHONE_NUMBER_ID) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": WABA_ID,
                "changes": [
                    {
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": DISPLAY_NUMBER,
                                "phone_number_id": phone_number_id,
                            },
                            **value,
                        },
                        "field": "messages",
                    }
                ],
            }
        ],
    }


def _inbound(
    wa_id: str, name: str, message: dict[str, Any], at: float | None, mid: str | None
) -> dict[str, Any]:
    return envelope(
        {
            "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
            "messages": [
                {
                    "from": wa_id,
                    "id": mid or wamid(),
                    "timestamp": str(int(time.time() if at is None else at)),
                    **message,
                }
            ],
        }
    )


def text(
    wa_id: str, name: str, body: str, *, at: float | None = None, mid: str | None = None
) -> dict[str, Any]:
    return _inbound(wa_id, name, {"type": "text", "text": {"body": body}}, at, mid)


def button_reply(
    wa_id: str,
    name: str,
    context: str,
    reply_id: str,
    title: str,
    *,
    kind: str = "button_reply",
    at: float | None = None,
) -> dict[str, Any]:
    """A press on a reply button (`button_reply`) or a pick from a list (`list_reply`)."""
    message = {
        "context": {"from": DISPLAY_NUMBER, "id": context},
        "type": "interactive",
        "interactive": {"type": kind, kind: {"id": reply_id, "title": title}},
    }
    return _inbound(wa_id, name, message, at, None)


def reaction(
    wa_id: str, name: str, target: str, emoji: str, *, at: float | None = None
) -> dict[str, Any]:
    message = {"type": "reaction", "reaction": {"message_id": target, "emoji": emoji}}
    return _inbound(wa_id, name, message, at, None)


def edit(
    wa_id: str, name: str, original: str, body: str, *, at: float | None = None
) -> dict[str, Any]:
    message = {
        "type": "edit",
        "edit": {
            "original_message_id": original,
            "message": {"type": "text", "text": {"body": body}},
        },
    }
    return _inbound(wa_id, name, message, at, None)


def status(
    recipient: str,
    message_id: str,
    state: str,
    *,
    at: float | None = None,
    code: int | None = None,
    title: str = "",
) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "id": message_id,
        "status": state,
        "timestamp": str(int(time.time() if at is None else at)),
        "recipient_id": recipient,
    }
    if state in ("sent", "delivered", "read"):
        raw["conversation"] = {"id": uuid.uuid4().hex, "origin": {"type": "service"}}
        raw["pricing"] = {"billable": True, "pricing_model": "CBP", "category": "service"}
    if code is not None:
        raw["errors"] = [
            {
                "code": code,
                "title": title or "Message failed",
                "message": title or "Message failed",
                "error_data": {"details": title or "Message failed to send"},
                "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
            }
        ]
    return envelope({"statuses": [raw]})


def signed(secret: str, payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    """The body and headers Meta sends: `X-Hub-Signature-256: sha256=<HMAC of the body>`."""
    body = json.dumps(payload).encode()
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return body, {"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={digest}"}
