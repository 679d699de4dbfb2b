"""Actions survive the outbox: encoded to JSON and back, equal, whatever they carry."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.codec import decode_action, encode_action
from adapters.contract import (
    Button,
    Direct,
    Mention,
    Place,
    PlatformName,
    Purpose,
    SendMessage,
    SpaceId,
    TextForm,
    ThreadId,
    UserId,
)

texts = st.text(max_size=20)
forms = st.none() | st.builds(TextForm, texts, texts, st.integers(1, 4000))
buttons = st.lists(st.builds(Button, texts, texts, texts, forms), max_size=3).map(tuple)
purposes = st.none() | st.builds(Purpose, texts, st.lists(st.tuples(texts, texts)).map(tuple))
places = st.builds(
    Place,
    texts.map(PlatformName),
    texts.map(SpaceId),
    st.none() | texts.map(ThreadId),
    st.booleans(),
)
destinations = places | st.builds(Direct, texts.map(PlatformName), texts.map(UserId))
segments = st.lists(
    texts | st.builds(Mention, texts.map(PlatformName), texts.map(UserId), texts)
).map(tuple)


@given(
    key=texts,
    to=destinations,
    text=segments,
    buttons=buttons,
    purpose=purposes,
    broadcast=st.booleans(),
)
def test_a_message_round_trips(
    key: str,
    to: Place | Direct,
    text: tuple[str | Mention, ...],
    buttons: tuple[Button, ...],
    purpose: Purpose | None,
    broadcast: bool,
) -> None:
    broadcast = broadcast and isinstance(to, Place) and to.thread is not None
    action = SendMessage(
        key=key, to=to, text=text, buttons=buttons, purpose=purpose, broadcast=broadcast
    )
    assert decode_action(json.loads(json.dumps(encode_action(action)))) == action


def test_rows_written_before_forms_and_purposes_still_decode() -> None:
    old = {
        "type": "send",
        "key": "k",
        "to": {"direct_to": "u", "platform": "web"},
        "text": ["hi"],
        "buttons": [["join", "1", "Join"]],
    }
    action = decode_action(old)
    assert isinstance(action, SendMessage)
    assert action.buttons == (Button("join", "1", "Join"),) and action.purpose is None
    assert not action.broadcast


def test_a_thread_reply_shown_in_the_channel_round_trips_and_only_in_a_thread() -> None:
    thread = Place(PlatformName("slack"), SpaceId("C1"), ThreadId("1.2"))
    action = SendMessage(key="k", to=thread, text=("Summary",), broadcast=True)
    decoded = decode_action(json.loads(json.dumps(encode_action(action))))
    assert isinstance(decoded, SendMessage) and decoded.broadcast and decoded.to == thread
    with pytest.raises(ValueError):
        SendMessage(key="k", to=thread.top(), text=("Summary",), broadcast=True)


def test_where_a_private_answer_belongs_survives() -> None:
    """`Direct.near` is not compared (it does not change who is addressed), so round-trip
    equality cannot show it: check it on its own."""
    near = Place(PlatformName("slack"), SpaceId("C1"), ThreadId("1.2"))
    action = SendMessage(
        key="k", to=Direct(PlatformName("slack"), UserId("U1"), near), text=("Only you",)
    )
    decoded = decode_action(json.loads(json.dumps(encode_action(action))))
    assert isinstance(decoded, SendMessage) and isinstance(decoded.to, Direct)
    assert decoded.to.near == near
