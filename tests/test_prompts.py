"""The prompt library: what ships with the bot, and how bad packs are reported."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from bot.errors import ConfigError, UserInputError
from bot.prompts import (
    BUILTIN_PROMPTS_DIR,
    MAX_TEXT_LENGTH,
    TRANSLATED,
    Prompt,
    PromptLibrary,
    UnknownPrompt,
    load_library,
)

HEADER = """
[pack]
id = "extra"
title = "Extra"
description = "An organiser's own pack."
"""

GOOD_PROMPTS = """
[[prompt]]
id = "extra-weather"
kind = "checkin"
text = "What's the weather like where you are?"
tags = ["opening", "short"]

[[prompt]]
id = "extra-map"
kind = "provocation"
parts = ["Draw a map of who you work with.", "Where are the gaps?"]
tags = ["network"]
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def library() -> PromptLibrary:
    return load_library()


# --- the shipped library -------------------------------------------------------------------


def test_shipped_library_has_the_promised_packs(library: PromptLibrary) -> None:
    packs = library.packs()
    assert len(packs) >= 3
    assert {"care", "connection", "co-design"} <= {p.id for p in packs}
    assert len({p.id for p in packs}) == len(packs)
    assert all(p.title and p.description for p in packs)


def test_shipped_library_has_enough_of_each_kind(library: PromptLibrary) -> None:
    assert len(library.by_kind("checkin")) >= 30
    provocations = library.by_kind("provocation")
    assert len(provocations) >= 8
    assert sum(1 for p in provocations if len(p.parts) >= 2) >= 3
    assert len(library.by_kind("followup")) >= 6


def test_every_shipped_prompt_is_loaded_once(library: PromptLibrary) -> None:
    raw_ids: list[str] = []
    for path in sorted(BUILTIN_PROMPTS_DIR.glob("*.toml")):
        with path.open("rb") as file:
            raw_ids.extend(entry["id"] for entry in tomllib.load(file)["prompt"])
    assert len(raw_ids) == len(set(raw_ids))
    assert [p.id for p in library.all()] == raw_ids
    assert len(library) == len(raw_ids)


def test_shipped_prompts_have_the_right_shape(library: PromptLibrary) -> None:
    pack_ids = {p.id for p in library.packs()}
    for prompt in library.all():
        assert prompt.pack in pack_ids
        assert prompt.tags, f"{prompt.id} has no tags"
        if prompt.kind == "provocation":
            assert 1 <= len(prompt.parts) <= 3
        else:
            assert len(prompt.parts) == 1
            assert prompt.text == prompt.parts[0]
        assert all(0 < len(part) <= MAX_TEXT_LENGTH for part in prompt.parts)


def test_by_kind_returns_only_that_kind(library: PromptLibrary) -> None:
    followups = library.by_kind("followup")
    assert followups
    assert {p.kind for p in followups} == {"followup"}
    total = sum(len(library.by_kind(k)) for k in ("checkin", "provocation", "followup"))
    assert total == len(library.all())


def test_by_kind_rejects_an_unknown_kind(library: PromptLibrary) -> None:
    with pytest.raises(ValueError, match="question"):
        library.by_kind("question")  # type: ignore[arg-type]


def test_with_tag_filters(library: PromptLibrary) -> None:
    trust = library.with_tag("trust")
    assert trust
    assert all("trust" in p.tags for p in trust)
    assert len(trust) == sum(1 for p in library.all() if "trust" in p.tags)
    assert len(trust) < len(library.all())
    assert library.with_tag(" Trust ") == trust
    assert library.with_tag("no-such-tag") == ()


def test_get_finds_a_prompt_by_id(library: PromptLibrary) -> None:
    prompt = library.get("codesign-network")
    assert prompt.kind == "provocation"
    assert prompt.pack == "co-design"
    assert len(prompt.parts) == 2
    assert prompt.text == "\n".join(prompt.parts)
    assert library.get("  CARE-Arriving ").id == "care-arriving"
    assert "care-arriving" in library
    assert "care-nothing" not in library


def test_get_unknown_id_speaks_to_the_caller(library: PromptLibrary) -> None:
    with pytest.raises(UnknownPrompt) as caught:
        library.get("care-qualitys")
    error = caught.value
    assert isinstance(error, UserInputError)
    assert isinstance(error, LookupError)
    assert "care-qualitys" in error.reply_text()
    assert "care-qualities" in error.suggestions
    assert "'care-qualities'" in error.reply_text()


def test_text_joins_parts_for_display() -> None:
    prompt = Prompt("x", "provocation", ("One?", "Two?"), (), "p")
    assert prompt.text == "One?\nTwo?"


# --- organisers' directories -----------------------------------------------------------------


def test_an_extra_directory_adds_a_pack(tmp_path: Path, library: PromptLibrary) -> None:
    write(tmp_path, "extra.toml", HEADER + GOOD_PROMPTS)
    extended = load_library([tmp_path])
    assert [p.id for p in extended.packs()] == [p.id for p in library.packs()] + ["extra"]
    assert len(extended) == len(library) + 2
    added = extended.get("extra-map")
    assert added.pack == "extra"
    assert added.parts == ("Draw a map of who you work with.", "Where are the gaps?")
    assert extended.get("extra-weather") in extended.with_tag("short")
    assert extended.packs()[-1].source == tmp_path / "extra.toml"


def test_builtin_packs_can_be_left_out(tmp_path: Path) -> None:
    write(tmp_path, "extra.toml", HEADER + GOOD_PROMPTS)
    only = load_library([tmp_path], include_builtin=False)
    assert [p.id for p in only.all()] == ["extra-weather", "extra-map"]


def test_naming_the_builtin_directory_again_loads_it_once(library: PromptLibrary) -> None:
    assert len(load_library([BUILTIN_PROMPTS_DIR])) == len(library)


def test_a_missing_directory_is_a_config_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(ConfigError) as caught:
        load_library([missing])
    assert caught.value.key == str(missing)


def test_description_is_optional(tmp_path: Path) -> None:
    header = '[pack]\nid = "bare"\ntitle = "Bare"\n'
    write(tmp_path, "bare.toml", header + GOOD_PROMPTS)
    pack = load_library([tmp_path], include_builtin=False).packs()[0]
    assert (pack.id, pack.description) == ("bare", "")


def test_text_of_exactly_the_limit_is_accepted(tmp_path: Path) -> None:
    text = "x" * MAX_TEXT_LENGTH
    body = f'[[prompt]]\nid = "long"\nkind = "checkin"\ntext = "{text}"\n'
    write(tmp_path, "extra.toml", HEADER + body)
    assert load_library([tmp_path], include_builtin=False).get("long").text == text


# --- validation ------------------------------------------------------------------------------


def prompt_toml(**fields: object) -> str:
    """One [[prompt]] table; a field set to None is left out."""
    values: dict[str, object] = {"id": "p-one", "kind": "checkin", "text": "How are you?"}
    values.update(fields)
    lines = ["[[prompt]]"]
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, str):
            lines.append(f'{key} = "{value}"')
        elif isinstance(value, list):
            items = ", ".join(f'"{v}"' if isinstance(v, str) else str(v) for v in value)
            lines.append(f"{key} = [{items}]")
        else:
            lines.append(f"{key} = {value}")
    return "\n".join(lines) + "\n"


BAD_PACKS: list[tuple[str, str, str, str]] = [
    # (test id, file body, key after "<file>: ", fragment of the problem)
    (
        "unknown prompt key",
        HEADER + prompt_toml(colour="red"),
        "prompt 'p-one'.colour",
        "known key",
    ),
    ("misspelt key", HEADER + prompt_toml(tag=["care"]), "prompt 'p-one'.tag", "'tags'"),
    ("unknown top key", "owner = 'me'\n" + HEADER + prompt_toml(), "owner", "known key"),
    ("unknown pack key", HEADER + "icon = 'x'\n" + prompt_toml(), "pack.icon", "known key"),
    ("missing pack", prompt_toml(), "pack", "[pack]"),
    ("pack not a table", 'pack = "care"\n' + prompt_toml(), "pack", "[pack]"),
    ("missing pack id", '[pack]\ntitle = "T"\n' + prompt_toml(), "pack.id", "missing"),
    ("missing pack title", '[pack]\nid = "t"\n' + prompt_toml(), "pack.title", "missing"),
    (
        "bad pack id",
        '[pack]\nid = "My Pack"\ntitle = "T"\n' + prompt_toml(),
        "pack.id",
        "lowercase",
    ),
    ("no prompts", HEADER, "prompt", "[[prompt]]"),
    ("prompt not a table", 'prompt = "hello"\n' + HEADER, "prompt", "[[prompt]]"),
    ("missing prompt id", HEADER + prompt_toml(id=None), "prompt #1.id", "missing"),
    ("missing kind", HEADER + prompt_toml(kind=None), "prompt 'p-one'.kind", "missing"),
    ("missing text", HEADER + prompt_toml(text=None), "prompt 'p-one'.text", "missing"),
    ("id not a string", HEADER + prompt_toml(id=7), "prompt #1.id", "string"),
    ("text not a string", HEADER + prompt_toml(text=3), "prompt 'p-one'.text", "string"),
    ("tags not a list", HEADER + prompt_toml(tags="care"), "prompt 'p-one'.tags", "list"),
    ("tag not a string", HEADER + prompt_toml(tags=["care", 2]), "prompt 'p-one'.tags", "list"),
    ("bad tag", HEADER + prompt_toml(tags=["Care Work"]), "prompt 'p-one'.tags", "lowercase"),
    ("bad id slug", HEADER + prompt_toml(id="Care Qualities"), "prompt 'Care Qualities'.id", "id"),
    ("id with double hyphen", HEADER + prompt_toml(id="care--x"), "prompt 'care--x'.id", "single"),
    ("id too long", HEADER + prompt_toml(id="a" * 65), f"prompt '{'a' * 65}'.id", "at most 64"),
    ("bad kind", HEADER + prompt_toml(kind="question"), "prompt 'p-one'.kind", "provocation"),
    (
        "duplicate id in one file",
        HEADER + prompt_toml() + prompt_toml(text="Again?"),
        "prompt 'p-one'.id",
        "earlier in this file",
    ),
    (
        "checkin with parts",
        HEADER + prompt_toml(parts=["a", "b"]),
        "prompt 'p-one'.parts",
        "single question",
    ),
    (
        "followup with parts only",
        HEADER + prompt_toml(kind="followup", text=None, parts=["a"]),
        "prompt 'p-one'.parts",
        "single question",
    ),
    (
        "provocation with text",
        HEADER + prompt_toml(kind="provocation"),
        "prompt 'p-one'.text",
        "parts",
    ),
    (
        "provocation without parts",
        HEADER + prompt_toml(kind="provocation", text=None),
        "prompt 'p-one'.parts",
        "missing",
    ),
    (
        "provocation with no parts",
        HEADER + prompt_toml(kind="provocation", text=None, parts=[]),
        "prompt 'p-one'.parts",
        "is empty",
    ),
    (
        "provocation with four parts",
        HEADER + prompt_toml(kind="provocation", text=None, parts=["a", "b", "c", "d"]),
        "prompt 'p-one'.parts",
        "has 4 parts",
    ),
    (
        "provocation part not a string",
        HEADER + prompt_toml(kind="provocation", text=None, parts=["a", 2]),
        "prompt 'p-one'.parts[1]",
        "string",
    ),
    (
        "provocation with an empty part",
        HEADER + prompt_toml(kind="provocation", text=None, parts=["a", "  "]),
        "prompt 'p-one'.parts[1]",
        "empty",
    ),
    ("empty text", HEADER + prompt_toml(text="   "), "prompt 'p-one'.text", "empty"),
    (
        "text too long",
        HEADER + prompt_toml(text="x" * (MAX_TEXT_LENGTH + 1)),
        "prompt 'p-one'.text",
        "1001 characters",
    ),
]


@pytest.mark.parametrize(
    ("body", "key", "problem"),
    [case[1:] for case in BAD_PACKS],
    ids=[case[0] for case in BAD_PACKS],
)
def test_a_bad_pack_names_the_file_and_prompt(
    tmp_path: Path, body: str, key: str, problem: str
) -> None:
    path = write(tmp_path, "bad.toml", body)
    with pytest.raises(ConfigError) as caught:
        load_library([tmp_path], include_builtin=False)
    assert caught.value.key == f"{path}: {key}"
    assert problem in caught.value.problem
    assert str(caught.value).startswith(str(path))


def test_a_prompt_id_already_shipped_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "extra.toml", HEADER + prompt_toml(id="care-qualities"))
    with pytest.raises(ConfigError) as caught:
        load_library([tmp_path])
    assert caught.value.key == f"{path}: prompt 'care-qualities'.id"
    assert "prompts/care.toml" in caught.value.problem


def test_a_prompt_id_used_in_another_file_is_rejected(tmp_path: Path) -> None:
    first = write(tmp_path, "a.toml", HEADER + prompt_toml(id="shared"))
    other_header = HEADER.replace('id = "extra"', 'id = "other"')
    second = write(tmp_path, "b.toml", other_header + prompt_toml(id="shared"))
    with pytest.raises(ConfigError) as caught:
        load_library([tmp_path], include_builtin=False)
    assert caught.value.key == f"{second}: prompt 'shared'.id"
    assert str(first) in caught.value.problem


def test_a_pack_id_used_twice_is_rejected(tmp_path: Path) -> None:
    header = HEADER.replace('id = "extra"', 'id = "care"')
    path = write(tmp_path, "my-care.toml", header + prompt_toml(id="my-care-1"))
    with pytest.raises(ConfigError) as caught:
        load_library([tmp_path])
    assert caught.value.key == f"{path}: pack.id"
    assert "prompts/care.toml" in caught.value.problem


def test_malformed_toml_names_the_file_and_line(tmp_path: Path) -> None:
    body = HEADER + '[[prompt]]\nid = "p-one"\nkind = checkin\n'
    path = write(tmp_path, "broken.toml", body)
    line = body.splitlines().index("kind = checkin") + 1
    with pytest.raises(ConfigError) as caught:
        load_library([tmp_path], include_builtin=False)
    assert caught.value.key == f"{path}:{line}"
    assert "not valid TOML" in caught.value.problem
    assert "(at line" not in caught.value.problem


def test_a_file_that_is_not_utf8_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes((HEADER + prompt_toml(text="Caf\xe9?")).encode("latin-1"))
    with pytest.raises(ConfigError) as caught:
        load_library([tmp_path], include_builtin=False)
    assert caught.value.key == str(path)
    assert "UTF-8" in caught.value.problem


# --- languages -------------------------------------------------------------------------------


def test_every_shipped_prompt_and_pack_is_in_every_language(library: PromptLibrary) -> None:
    missing = [
        f"{prompt.id}: {lang}"
        for prompt in library.all()
        for lang in TRANSLATED
        if lang not in prompt.translations
    ] + [f"pack {pack.id}: {lang}" for pack in library.packs() for lang in TRANSLATED
         if lang not in pack.translations]  # fmt: skip
    assert not missing


def test_a_prompt_reads_in_the_readers_language(library: PromptLibrary) -> None:
    arriving = library.get("care-arriving")
    assert arriving.text_in("es") == "¿Cómo llegas hoy? Con una palabra o una frase basta."
    assert arriving.text_in("sw-KE").startswith("Unajisikiaje unapofika leo?")
    assert arriving.text_in("fr") == arriving.text == arriving.text_in(None)
    network = library.get("codesign-network")
    assert len(network.parts_in("es")) == len(network.parts) == 2
    care = next(p for p in library.packs() if p.id == "care")
    assert (care.title_in("es"), care.title_in("en")) == ("Cuidado", "Care")


def test_an_organisers_pack_may_carry_some_languages(tmp_path: Path) -> None:
    write(
        tmp_path,
        "extra.toml",
        HEADER + '[pack.es]\ntitle = "Extra (es)"\n' + GOOD_PROMPTS
        + '[prompt.es]\nparts = ["Dibuja un mapa.", "¿Dónde están los huecos?"]\n',
    )  # fmt: skip
    library = load_library([tmp_path], include_builtin=False)
    weather, drawn = library.get("extra-weather"), library.get("extra-map")
    assert weather.text_in("es") == weather.text
    assert drawn.parts_in("es") == ("Dibuja un mapa.", "¿Dónde están los huecos?")
    assert drawn.parts_in("sw") == drawn.parts
    pack = library.packs()[0]
    assert (pack.title_in("es"), pack.description_in("es")) == ("Extra (es)", pack.description)


@pytest.mark.parametrize(
    ("translation", "key", "says"),
    [
        ('[prompt.es]\ntext = "Uno"\n', "prompt 'extra-map'.es.text", "uses parts"),
        ('[prompt.es]\nparts = ["Uno"]\n', "prompt 'extra-map'.es.parts", "has 1 parts"),
        ('[prompt.es]\nparts = ["a", "b"]\ncolour = "red"\n', "prompt 'extra-map'.es.colour",
         "known key"),
        ('[prompt.fr]\nparts = ["a", "b"]\n', "prompt 'extra-map'.fr", "known key"),
    ],
)  # fmt: skip
def test_a_bad_translation_names_the_prompt_and_language(
    tmp_path: Path, translation: str, key: str, says: str
) -> None:
    write(tmp_path, "extra.toml", HEADER + GOOD_PROMPTS + translation)
    with pytest.raises(ConfigError) as caught:
        load_library([tmp_path], include_builtin=False)
    assert caught.value.key == f"{tmp_path / 'extra.toml'}: {key}"
    assert says in caught.value.problem
