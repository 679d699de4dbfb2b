"""Discord, on discord.py: imported only when the config has a `[discord]` section."""

from adapters.discord.adapter import DiscordAdapter

__all__ = ["DiscordAdapter"]
