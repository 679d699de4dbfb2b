"""community-bot: a community's rituals in the chat tools people already use."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("community-bot")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+source"
