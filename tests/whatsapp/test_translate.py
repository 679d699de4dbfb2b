"""WhatsApp payloads to inbound models and actions to Graph bodies, on recorded payloads: the
spec's own webhook examples and ones shaped like Meta's reference and pywa's fixtures."""

from __future__ import annotations

import json
from typing import Any

import pytest

from adapters.contract import ButtonPressed, CommandInvoked, MessageReceived, ReactionAdded
from adapters.whatsapp.templates import TEMPLATES, describe
from adapters.whatsapp.translate import (
    PAIR_RATE,
    OutsideWindow,
    PairRateLimited,
    choices_request,
    command_text,
    platform_error,
    read_webhook,
    sent_id,
    template_request,
    text_request,
)
from tests.openapi_check import load_spec
from tests.whatsapp import payloads
from tests.whatsapp.fake_graph import SPEC

pytestmark = pytest.mark.whatsapp

PATHS = [("checkin",), ("checkin", "open"), ("help",), ("me", "tz"), ("join",)]
HEADERS = {"Authorization": "Bearer abc", "Content-Type": "application/json"}


def read(payload: dict[str, Any], phone: str = payloads.PHONE_NUMBER_ID) -> Any:
    return read_webhook(payload, phone_number_id=phone, paths=PATHS)


def spec_examples() -> dict[str, Any]:
    spec = load_spec(SPEC).document
    post = spec["paths"]["/whatsapp/webhooks"]["post"]
    examples: dict[str, Any] = post["requestBody"]["content"]["application/json"]["examples"]
    return {name: e["value"] for name, e in examples.items()}


def test_the_specs_recorded_webhooks_translate() -> None:
    examples = spec_examples()
    for _name, payload in examples.items():  # every example: no crash, only known kinds
        phone = payload["entry"][0]["changes"][0]["value"].get("metadata", {})
        read(payload, str(phone.get("phone_number_id")))

    def one(name: str) -> Any:
        phone = examples[name]["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"]
        found = read(examples[name], phone).inbound
        assert len(found) == 1, name
        return found[0]

    text = one("Text Message")
    assert isinstance(text, MessageReceived)
    assert (text.text, text.actor.display_name) == (
        "Does it come in another color?",
        "Sheena Nelson",
    )
    assert text.place.direct and text.place.space == "16505551234"
    reaction = one("Reaction Message")
    assert isinstance(reaction, ReactionAdded) and reaction.key == "👍"
    listed = one("Interactive List Reply Message")  # an id without our separator: its title
    assert isinstance(listed, MessageReceived) and listed.text == "Priority Mail Express"


def test_plain_text_commands_are_case_insensitive_with_or_without_a_prefix() -> None:
    assert command_text("checkin pass", ("/",), PATHS) == "checkin pass"
    assert command_text("  Checkin Pass ", ("/",), PATHS) == "Checkin Pass"
    assert command_text("/checkin pass", ("/",), PATHS) == "checkin pass"
    assert command_text("!HELP", ("/", "!"), PATHS) == "HELP"
    assert command_text("ME TZ Europe/Paris", ("/",), PATHS) == "ME TZ Europe/Paris"
    assert command_text("me too, honestly", ("/",), PATHS) is None, "not a command's path"
    assert command_text("joining late, sorry", ("/",), PATHS) is None
    assert command_text("/", ("/",), PATHS) is None
    found = read(payloads.text("447700900001", "Ada", "CheckIn I'm tired")).inbound
    assert isinstance(found[0], CommandInvoked) and found[0].text == "CheckIn I'm tired"


def test_buttons_and_list_picks_carry_the_cores_action_and_value() -> None:
    pressed = read(
        payloads.button_reply("447700900001", "Ada", "wamid.Q", "checkin.pass|12", "Pass")
    ).inbound[0]
    assert isinstance(pressed, ButtonPressed)
    assert (pressed.action, pressed.value, pressed.message_id) == ("checkin.pass", "12", "wamid.Q")
    picked = read(
        payloads.button_reply("447700900001", "Ada", "wamid.Q", "vote|a|b", "A", kind="list_reply")
    ).inbound[0]
    assert isinstance(picked, ButtonPressed) and (picked.action, picked.value) == ("vote", "a|b")


def test_edits_reactions_and_other_numbers() -> None:
    edited = read(payloads.edit("447700900001", "Ada", "wamid.O", "fixed")).inbound[0]
    assert isinstance(edited, MessageReceived) and (edited.edits, edited.text) == (
        "wamid.O",
        "fixed",
    )
    taken_back = read(payloads.reaction("447700900001", "Ada", "wamid.O", ""))
    assert taken_back.inbound == [], "an empty emoji removes a reaction"
    other = read(payloads.text("447700900001", "Ada", "hi"), phone="999")
    assert other.inbound == [] and other.wrote == {}
    assert read({"object": "page", "entry": []}).inbound == []
    assert read([1, 2]).inbound == []


def test_a_message_opens_the_window_from_its_own_time() -> None:
    hook = read(payloads.text("447700900001", "Ada", "hi", at=1_750_000_000))
    assert hook.wrote["447700900001"].timestamp() == 1_750_000_000


def test_statuses_carry_their_failure() -> None:
    for state in ("sent", "delivered", "read"):
        (s,) = read(payloads.status("447700900001", "wamid.A", state)).statuses
        assert (s.message_id, s.status, s.error) == ("wamid.A", state, None)
    (failed,) = read(
        payloads.status("447700900001", "wamid.A", "failed", code=131047, title="Re-engagement")
    ).statuses
    assert failed.code == 131047 and failed.error is not None and "131047" in failed.error
    assert read(payloads.status("1", "wamid.A", "deleted")).statuses == []


def test_every_body_we_send_is_what_the_spec_accepts() -> None:
    spec = load_spec(SPEC)
    three = [("checkin.answer", "7", "Answer"), ("checkin.pass", "7", "Pass"), ("x", "1", "X")]
    five = [("vote", str(i), f"Choice number {i} is a long one") for i in range(5)]
    bodies = [
        text_request("447700900001", "Hello"),
        choices_request("447700900001", "Check-in: how are you?", three),
        choices_request("447700900001", "Pick one", five),
        template_request("447700900001", "community_nudge", "en", ["Us", "Line\n\ttwo    spaced"]),
    ]
    for body in bodies:
        checked = spec.check(
            "POST",
            "/v23.0/106540352242922/messages",
            headers=HEADERS,
            body=json.dumps(body).encode(),
        )
        checked.require_ok()
    assert bodies[1]["interactive"]["type"] == "button"
    assert bodies[2]["interactive"]["type"] == "list", "more than three choices: a list"
    params = bodies[3]["template"]["components"][0]["parameters"]
    assert params[1]["text"] == "Line two spaced", "no new lines or runs of spaces in parameters"
    with pytest.raises(Exception, match="1 to 10"):
        choices_request("1", "too many", [("a", str(i), "x") for i in range(11)])


def test_a_message_longer_than_whatsapp_allows_is_cut_to_it() -> None:
    assert len(text_request("1", "x" * 5000)["text"]["body"]) == 4096
    assert (
        len(choices_request("1", "y" * 2000, [("a", "1", "A")])["interactive"]["body"]["text"])
        == 1024
    )


def test_error_codes_decide_the_retry() -> None:
    def error(code: int, status: int = 400) -> Exception:
        return platform_error(status, {"error": {"code": code, "message": "m"}})

    assert isinstance(error(131047), OutsideWindow) and error(131047).permanent  # type: ignore[attr-defined]
    throughput = error(130429)
    assert throughput.retry_after and not throughput.permanent  # type: ignore[attr-defined]
    pair = error(PAIR_RATE)
    assert isinstance(pair, PairRateLimited) and pair.retry_after is None, "only that member waits"
    assert error(131026).permanent, "undeliverable: never retried"  # type: ignore[attr-defined]
    assert not error(131000, 500).permanent  # type: ignore[attr-defined]
    assert not platform_error(503, None).permanent  # type: ignore[attr-defined]
    assert platform_error(404, "nope").permanent  # type: ignore[attr-defined]
    assert sent_id({"messages": [{"id": "wamid.X"}]}) == "wamid.X"
    assert sent_id({"messages": []}) is None


def test_every_purpose_the_core_sets_has_a_template() -> None:
    kinds = {"checkin.invite", "checkin.remind", "event.reminder", "event.followup", "nudge"}
    assert kinds <= set(TEMPLATES)
    for t in TEMPLATES.values():
        for i in range(1, len(t.params) + 1):
            assert f"{{{{{i}}}}}" in t.body
        assert f"{{{{{len(t.params) + 1}}}}}" not in t.body
    text = describe(("en", "fr"))
    assert "community_nudge" in text and "UTILITY" in text and "en, fr" in text
