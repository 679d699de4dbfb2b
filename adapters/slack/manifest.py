"""The Slack app manifest for a configuration: exactly what the adapter uses, nothing more.

An organiser pastes it into "Create an app > From a manifest" and the app has the slash
commands under the names the config gives, the events the adapter reads, the scopes those
and its Web API calls need, and either Socket Mode or the bot's own request URLs.
"""

from __future__ import annotations

from typing import Any

import yaml

from bot.config import Config
from bot.errors import ConfigError

COMMANDS: dict[str, tuple[str, str]] = {
    "checkin": ("Open, answer or close a check-in round", 'open "<prompt>" | <answer> | pass'),
    "breakout": (
        "Split people into breakout groups",
        '[<n> groups] ["<provocation>"] [--minutes <m>]',
    ),
    "event": ("Add, list or cancel events", 'add "<title>" <when> | list | cancel <id>'),
    "nudge": ("Schedule a nudge", '"<text>" --at <when> [--to non-responders]'),
    "me": (
        "Your time zone, quiet hours, pause and data",
        "tz <zone> | quiet <hh:mm>-<hh:mm> | pause",
    ),
    "role": ("Give someone a role", "<catalyst|organiser|member> @person"),
    "help": ("What you can do here", "[<command>]"),
    "report": ("Report back from your breakout group", "<what your group found>"),
}
"""Each slash command's description and usage hint, as Slack shows them while typing."""

BOT_EVENTS = (
    "app_mention",
    "member_joined_channel",
    "member_left_channel",
    "message.channels",
    "message.groups",
    "message.im",
    "reaction_added",
)


def bot_scopes(breakouts: str, usergroup: bool = False) -> list[str]:
    """The bot token's scopes: what the events above and the adapter's calls need."""
    scopes = {
        "app_mentions:read",  # app_mention
        "channels:history",  # message.channels
        "channels:read",  # member_*_channel, conversations.info/members in channels
        "chat:write",  # chat.postMessage, chat.postEphemeral, chat.update
        "commands",  # the slash commands
        "groups:history",  # message.groups (private channels the bot is in)
        "groups:read",  # conversations.info/members in private channels
        "im:history",  # message.im: answers by DM
        "reactions:read",  # reaction_added: joining a breakout by reaction
        "users:read",  # users.info: people's names
    }
    if breakouts == "channels":
        scopes.add("groups:write")  # conversations.create/invite/archive, private
    if usergroup:
        scopes.add("usergroups:read")  # usergroups.users.list: the catalysts' group
    return sorted(scopes)


def manifest(config: Config) -> dict[str, Any]:
    section = config.model.slack
    if section is None:
        raise ConfigError("slack", "there is no [slack] section in this configuration")
    http = section.mode == "http"
    base = (config.model.web.public_url or "").rstrip("/")
    if http and not base:
        raise ConfigError(
            "web.public_url", "HTTP mode needs the bot's public https URL for Slack to post to"
        )
    commands = []
    for word, name in section.command_names().items():
        description, hint = COMMANDS[word]
        command: dict[str, Any] = {
            "command": name,
            "description": description,
            "usage_hint": hint,
            "should_escape": True,
        }
        if http:
            command["url"] = f"{base}/slack/commands"
        commands.append(command)
    events: dict[str, Any] = {"bot_events": list(BOT_EVENTS)}
    interactivity: dict[str, Any] = {"is_enabled": True}
    if http:
        events = {"request_url": f"{base}/slack/events", **events}
        interactivity["request_url"] = f"{base}/slack/interactions"
    name = section.app_name
    return {
        "display_information": {
            "name": name,
            "description": "Check-in rounds, breakouts, event reminders and nudges",
        },
        "features": {
            "app_home": {
                "home_tab_enabled": False,
                "messages_tab_enabled": True,
                "messages_tab_read_only_enabled": False,
            },
            "bot_user": {"display_name": name, "always_online": True},
            "slash_commands": commands,
        },
        "oauth_config": {
            "scopes": {"bot": bot_scopes(section.breakouts, section.catalyst_usergroup is not None)}
        },
        "settings": {
            "event_subscriptions": events,
            "interactivity": interactivity,
            "org_deploy_enabled": False,
            "socket_mode_enabled": not http,
            "token_rotation_enabled": False,
        },
    }


def manifest_yaml(config: Config) -> str:
    text: str = yaml.safe_dump(manifest(config), sort_keys=False, allow_unicode=True)
    return text
