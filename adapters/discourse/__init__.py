"""Discourse, on httpx: imported only when the config has a `[discourse]` section."""

from adapters.discourse.adapter import DiscourseAdapter

__all__ = ["DiscourseAdapter"]
