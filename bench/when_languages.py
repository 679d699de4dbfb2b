"""What reading a time in a member's language costs: dateparser's import, the first reading
in each language (its word lists load then), and a steady reading, against the English
forms read by hand.

Each figure is from a fresh process for the first-use costs, so nothing is already loaded.

    .venv/bin/python bench/when_languages.py
"""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.when import parse_when

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 6, 18, 10, 0, tzinfo=LONDON)
TEXTS = {
    "en": "tue 18:30",
    "es": "el próximo martes a las 6 de la tarde",
    "sw": "jumanne saa kumi na mbili jioni",
}
REPEATS = 2000


def first_use(snippet: str, setup: str = "") -> float:
    """Seconds `snippet` takes in a new interpreter, after `setup`."""
    timed = f"import time\nt = time.perf_counter()\n{snippet}\nprint(time.perf_counter() - t)"
    code = f"{setup}\n{timed}"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout)


def main() -> None:
    print(f"import dateparser: {first_use('import dateparser') * 1000:.0f} ms")
    for lang, text in TEXTS.items():
        setup = (
            "from datetime import datetime\nfrom zoneinfo import ZoneInfo\n"
            "from bot.when import parse_when"
        )
        snippet = (
            f"parse_when({text!r}, now=datetime(2026, 6, 18, tzinfo=ZoneInfo('UTC')), "
            f"tz=ZoneInfo('UTC'), lang={lang!r})"
        )
        print(f"first reading, {lang} {text!r}: {first_use(snippet, setup) * 1000:.0f} ms")
    for lang, text in TEXTS.items():
        parse_when(text, now=NOW, tz=LONDON, lang=lang)
        started = time.perf_counter()
        for _ in range(REPEATS):
            parse_when(text, now=NOW, tz=LONDON, lang=lang)
        each = (time.perf_counter() - started) / REPEATS
        print(f"steady reading, {lang} {text!r}: {each * 1e6:.0f} µs")


if __name__ == "__main__":
    main()
