"""The check-in ritual as the core sees it: commands, answers, timers, hooks, downloads."""

from __future__ import annotations

from bot.checkins import commands, export, rounds, series
from bot.router import Router

router = Router(
    name="checkins",
    commands=commands.COMMANDS,
    messages=[commands.answer_message],
    buttons={
        rounds.ANSWER_ACTION: commands.answer_button,
        rounds.PASS_ACTION: commands.pass_button,
    },
    timers={
        rounds.TIMER_CLOSE: rounds.close_by_timer,
        rounds.TIMER_REMIND: rounds.remind,
        series.TIMER_OCCURRENCE: series.occurrence,
    },
    results={rounds.HOOK_POSTED: rounds.posted, rounds.HOOK_POSTED_IN: rounds.posted_in},
    on_start=[series.ensure_all],
    merges=[rounds.merge_voters],
    http=[export.http_routes],
)
