"""The message templates the bot uses outside WhatsApp's 24-hour window.

Outside the window WhatsApp only delivers templates Meta has approved beforehand. Each
`Purpose.kind` the core sets maps to one template here; its parameters are the purpose's
named parameters in the order the body numbers them. `community-bot whatsapp templates`
prints this list for an organiser to submit in the WhatsApp Manager.
"""

from __future__ import annotations

from dataclasses import dataclass

from adapters.contract import Purpose


@dataclass(frozen=True)
class Template:
    kind: str
    """The `Purpose.kind` it carries."""
    name: str
    category: str
    body: str
    params: tuple[str, ...]
    """The purpose's parameter names, in the order of `{{1}}`, `{{2}}`..."""

    def values(self, purpose: Purpose) -> list[str]:
        given = dict(purpose.params)
        return [given.get(name, "") for name in self.params]


TEMPLATES: dict[str, Template] = {
    t.kind: t
    for t in (
        Template(
            "checkin.invite",
            "community_checkin_invite",
            "UTILITY",
            "{{1}} check-in: {{2}}\nReply to this message with your answer, or reply PASS.",
            ("community", "prompt"),
        ),
        Template(
            "checkin.remind",
            "community_checkin_reminder",
            "UTILITY",
            'A reminder from {{1}}: the check-in "{{2}}" is still open. Reply to this message'
            " with your answer, or reply PASS.",
            ("community", "prompt"),
        ),
        Template(
            "event.reminder",
            "community_event_reminder",
            "UTILITY",
            "Reminder from {{1}}: {{2}} starts {{3}}.",
            ("community", "title", "when"),
        ),
        Template(
            "event.followup",
            "community_event_followup",
            "UTILITY",
            "{{1}}, after {{2}}: {{3}}",
            ("community", "title", "text"),
        ),
        Template(
            "nudge",
            "community_nudge",
            "UTILITY",
            "A message from {{1}}: {{2}}",
            ("community", "text"),
        ),
    )
}


def describe(languages: tuple[str, ...]) -> str:
    """The templates to submit, as text an organiser can follow in the WhatsApp Manager."""
    lines = [
        "Submit these message templates in the WhatsApp Manager (Message templates > Create),",
        f"each in every language you use ({', '.join(languages)}). Sample values are up to you.",
        "",
    ]
    for t in TEMPLATES.values():
        lines += [
            f"name:      {t.name}",
            f"category:  {t.category}",
            f"languages: {', '.join(languages)}",
            "body:",
            *(f"    {line}" for line in t.body.splitlines()),
            "parameters: "
            + ", ".join(f"{{{{{i}}}}} = {name}" for i, name in enumerate(t.params, 1)),
            f"used for:  {t.kind}",
            "",
        ]
    return "\n".join(lines).rstrip() + "\n"
