"""A tiny HTML builder that escapes by default, so no page can be tricked by a member's name.

Anything that is not already `Html` is escaped when it goes into a tag; sections build their
markup with `tag` and never format strings into HTML by hand.
"""

from __future__ import annotations

import html

VOID = frozenset({"br", "hr", "img", "input", "link", "meta"})


class Html(str):
    """Markup that is already safe to send."""

    __slots__ = ()


def esc(value: object) -> Html:
    """`value` as safe markup: escaped unless it already is `Html`; None is nothing."""
    if isinstance(value, Html):
        return value
    return Html("" if value is None else html.escape(str(value)))


def join(*parts: object) -> Html:
    return Html("".join(esc(p) for p in parts))


def tag(name: str, /, *children: object, **attrs: object) -> Html:
    """`<name attrs>children</name>`; `class_` is `class`, `aria_label` is `aria-label`.

    An attribute that is True is written bare, one that is None or False is left out.
    """
    rendered = []
    for key, value in attrs.items():
        if value is None or value is False:
            continue
        attr = key.rstrip("_").replace("_", "-")
        rendered.append(f" {attr}" if value is True else f' {attr}="{esc(value)}"')
    opening = f"<{name}{''.join(rendered)}>"
    if name in VOID:
        return Html(opening)
    return Html(f"{opening}{join(*children)}</{name}>")


def fill(message: str, /, **parts: object) -> Html:
    """A translated message with markup in its `{name}` places (a command as `<code>`); the
    message itself is escaped like any text."""
    return Html(esc(message).format(**{k: esc(v) for k, v in parts.items()}))
