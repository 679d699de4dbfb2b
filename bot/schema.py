"""Every table module, imported in one place so migrations see the whole schema."""

from __future__ import annotations

from sqlmodel import SQLModel

import adapters.webchat.store  # noqa: F401
import bot.breakouts.models
import bot.checkins.models
import bot.dashboard.models
import bot.events.models
import bot.events.native
import bot.models
import bot.receipts  # noqa: F401

metadata = SQLModel.metadata
