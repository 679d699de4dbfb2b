"""The message catalogs: complete, in step with the code, and safe to format."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot import i18n

ROOT = Path(__file__).resolve().parent.parent
TRANSLATED = [lang for lang in i18n.LANGUAGES if lang != i18n.DEFAULT]
PLACEHOLDER = re.compile(r"\{(\w*)[^{}]*\}")


def _po(lang: str) -> Catalog:
    path = i18n.LOCALE_DIR / lang / "LC_MESSAGES" / f"{i18n.DOMAIN}.po"
    with path.open("rb") as f:
        return read_po(f, locale=lang)


def _in_code() -> set[str | tuple[str, ...]]:
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    found: set[str | tuple[str, ...]] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map
    ):
        found.add(message)
    return found


def _ids(message: str | tuple[str, ...]) -> str:
    return message if isinstance(message, str) else message[0]


@pytest.fixture(scope="module")
def in_code() -> set[str | tuple[str, ...]]:
    return _in_code()


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_message_in_the_code_is_translated_and_none_is_fuzzy(
    lang: str, in_code: set[str | tuple[str, ...]]
) -> None:
    catalog = _po(lang)
    problems = []
    for message in sorted(in_code, key=_ids):
        entry = catalog.get(_ids(message))
        if entry is None:
            problems.append(f"missing: {_ids(message)!r}")
        elif entry.fuzzy:
            problems.append(f"fuzzy: {_ids(message)!r}")
        elif isinstance(entry.string, tuple):
            if len(entry.string) != catalog.num_plurals or not all(entry.string):
                problems.append(f"plural forms incomplete: {_ids(message)!r}")
        elif not entry.string:
            problems.append(f"untranslated: {_ids(message)!r}")
    assert not problems, f"{lang}: " + "\n".join(problems)


@pytest.mark.parametrize("lang", TRANSLATED)
def test_a_translation_keeps_exactly_the_placeholders_of_its_message(lang: str) -> None:
    """A translation naming a parameter the code does not pass would fail when shown."""
    wrong = []
    for entry in _po(lang):
        if not entry.id:
            continue
        ids = entry.id if isinstance(entry.id, tuple) else (entry.id,)
        wanted = {name for i in ids for name in PLACEHOLDER.findall(i)}
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        for s in strings:
            if s and set(PLACEHOLDER.findall(s)) - wanted - {"n"}:
                wrong.append(f"{ids[0]!r} -> {s!r}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("lang", TRANSLATED)
def test_the_compiled_catalog_matches_its_source(lang: str) -> None:
    """The `.mo` the bot loads is `pybabel compile` of the `.po` as committed."""
    built = io.BytesIO()
    write_mo(built, _po(lang))
    mo = i18n.LOCALE_DIR / lang / "LC_MESSAGES" / f"{i18n.DOMAIN}.mo"
    assert mo.read_bytes() == built.getvalue(), f"run: pybabel compile -d bot/locale ({lang})"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("es-MX,es;q=0.9,en;q=0.8", "es"),
        ("fr-FR, sw;q=0.5, en;q=0.4", "sw"),
        ("en;q=0.2, es;q=0.7", "es"),
        ("de, fr", None),
        ("es;q=0, en", "en"),
        ("es;q=banana, sw", "sw"),
        ("", None),
        (None, None),
        ("," * 5000, None),
    ],
)
def test_a_browsers_preference_is_read_by_quality(header: str | None, expected: str) -> None:
    assert i18n.negotiate(header) == expected


def test_a_language_is_chosen_in_order_and_falls_back_to_english() -> None:
    assert i18n.choose(None, "sw-KE", "es") == "sw"
    assert i18n.choose("xx", None) == "en"
    assert i18n.words("ES_mx").lang == "es"
    assert i18n.words("klingon").lang == "en"


def test_a_message_not_in_a_catalog_reads_in_english_with_its_parameters() -> None:
    assert i18n.words("es")._("No such message {x}", x=1) == "No such message 1"
