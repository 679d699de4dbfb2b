"""The prompt and provocation library: the questions a catalyst can pick by id.

Check-in prompts open a round, provocations are posted into breakout groups (one to three
parts, asked in turn) and follow-ups go out the day after an event. They live in TOML packs,
one pack per file: the packs shipped in `prompts/` plus any directories an organiser adds.
Every pack is validated when it is loaded, so a typo in an organiser's file stops the bot at
start-up with the file, the prompt and the fix, instead of surfacing mid-session in front of a
group.

    [pack]
    id = "care"                  # lowercase slug, unique across packs
    title = "Care"
    description = "..."          # optional

    [[prompt]]
    id = "care-arriving"         # lowercase slug, unique across all packs
    kind = "checkin"             # checkin | followup: one question in `text`
    text = "How are you arriving today?"
    tags = ["care", "opening"]   # optional lowercase slugs

    [[prompt]]
    id = "codesign-network"
    kind = "provocation"         # provocation: 1 to 3 questions in `parts`, asked in turn
    parts = ["First ...", "Then ..."]
    [prompt.es]                  # the same prompt in another language (es, sw), same shape
    parts = ["Primero ...", "Después ..."]

A pack's title and description can be given the same way, under `[pack.es]`. Each reader
gets a prompt in their language; a language the pack lacks falls back to its English.
"""

from __future__ import annotations

import difflib
import functools
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal, TypeAlias

from bot.errors import ConfigError, UserInputError
from bot.i18n import DEFAULT, LANGUAGES, N_, choose

if TYPE_CHECKING:
    from bot.config import Config

PromptKind: TypeAlias = Literal["checkin", "provocation", "followup"]
KINDS: Final[tuple[PromptKind, ...]] = ("checkin", "provocation", "followup")

BUILTIN_PROMPTS_DIR: Final = Path(__file__).resolve().parent.parent / "prompts"
"""The packs shipped with the bot, always loaded first unless asked not to."""

MAX_TEXT_LENGTH: Final = 1000
MAX_PARTS: Final = 3
MAX_ID_LENGTH: Final = 64

_SLUG: Final = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_SLUG_HINT: Final = "use lowercase letters, digits and single hyphens (like 'care-arriving')"
_TOP_KEYS: Final = ("pack", "prompt")
TRANSLATED: Final = tuple(lang for lang in LANGUAGES if lang != DEFAULT)
"""The languages a pack may carry beside its English (`[prompt.es]`)."""
_PACK_KEYS: Final = ("id", "title", "description", *TRANSLATED)
_PROMPT_KEYS: Final = ("id", "kind", "text", "parts", "tags", *TRANSLATED)
_TOML_POSITION: Final = re.compile(r"\s*\(at line (\d+), column \d+\)$")


@dataclass(frozen=True, slots=True)
class PromptPack:
    """A themed set of prompts from one file; `source` is where it was read, for messages."""

    id: str
    title: str
    description: str
    source: Path
    translations: Mapping[str, tuple[str, str]] = field(
        default_factory=dict, compare=False, hash=False
    )
    """Language -> (title, description), for the languages the pack carries."""

    def title_in(self, lang: str | None) -> str:
        return self.translations.get(choose(lang), (self.title, ""))[0]

    def description_in(self, lang: str | None) -> str:
        return self.translations.get(choose(lang), ("", self.description))[1]


@dataclass(frozen=True, slots=True)
class Prompt:
    """One question from the library.

    A checkin or followup has exactly one part; a provocation has one to three, which a
    breakout posts one after another. `pack` is the id of the pack it came from.
    """

    id: str
    kind: PromptKind
    parts: tuple[str, ...]
    tags: tuple[str, ...]
    pack: str
    translations: Mapping[str, tuple[str, ...]] = field(
        default_factory=dict, compare=False, hash=False
    )
    """Language -> the parts in that language, for the languages the pack carries."""

    @property
    def text(self) -> str:
        """The whole prompt for display: the parts, one per line."""
        return "\n".join(self.parts)

    def parts_in(self, lang: str | None) -> tuple[str, ...]:
        """The parts in `lang`, else in English."""
        return self.translations.get(choose(lang), self.parts)

    def text_in(self, lang: str | None) -> str:
        return "\n".join(self.parts_in(lang))


class UnknownPrompt(UserInputError, LookupError):
    """The caller asked for a prompt id the library does not hold.

    A `UserInputError` so the chat reply is the message itself (usually a mistyped id), and
    a `LookupError` so code that only looks things up can catch it like a missing key.
    """

    def __init__(self, prompt_id: str, suggestions: Sequence[str] = ()) -> None:
        if len(suggestions) > 1:
            super().__init__(
                N_(
                    "No prompt has the id '{id}'. Did you mean '{first}' or '{second}'? To ask "
                    "your own question, put it in quotes."
                ),
                id=prompt_id,
                first=suggestions[0],
                second=suggestions[1],
            )
        elif suggestions:
            super().__init__(
                N_(
                    "No prompt has the id '{id}'. Did you mean '{first}'? To ask your own "
                    "question, put it in quotes."
                ),
                id=prompt_id,
                first=suggestions[0],
            )
        else:
            super().__init__(
                N_("No prompt has the id '{id}'. To ask your own question, put it in quotes."),
                id=prompt_id,
            )
        self.prompt_id = prompt_id
        self.suggestions = tuple(suggestions)


class PromptLibrary:
    """All loaded prompts, looked up by id, kind or tag, in the order they were loaded."""

    def __init__(self, packs: Iterable[PromptPack], prompts: Iterable[Prompt]) -> None:
        self._packs = tuple(packs)
        self._prompts: dict[str, Prompt] = {}
        for prompt in prompts:
            if prompt.id in self._prompts:
                raise ValueError(f"duplicate prompt id {prompt.id!r}")
            self._prompts[prompt.id] = prompt

    def get(self, prompt_id: str) -> Prompt:
        """The prompt with this id (case and surrounding spaces ignored).

        Raises `UnknownPrompt`, whose message suggests the closest ids, when there is none.
        """
        key = prompt_id.strip().lower()
        try:
            return self._prompts[key]
        except KeyError:
            close = difflib.get_close_matches(key, self._prompts, n=2, cutoff=0.75)
            raise UnknownPrompt(prompt_id.strip(), close) from None

    def by_kind(self, kind: PromptKind) -> tuple[Prompt, ...]:
        """Every prompt of one kind; a kind outside `KINDS` is a programming error."""
        if kind not in KINDS:
            raise ValueError(f"unknown prompt kind {kind!r}; expected one of {KINDS}")
        return tuple(p for p in self._prompts.values() if p.kind == kind)

    def with_tag(self, tag: str) -> tuple[Prompt, ...]:
        """Every prompt carrying this tag (case ignored); empty when none does."""
        wanted = tag.strip().lower()
        return tuple(p for p in self._prompts.values() if wanted in p.tags)

    def all(self) -> tuple[Prompt, ...]:
        return tuple(self._prompts.values())

    def packs(self) -> tuple[PromptPack, ...]:
        return self._packs

    def __contains__(self, prompt_id: object) -> bool:
        return isinstance(prompt_id, str) and prompt_id.strip().lower() in self._prompts

    def __len__(self) -> int:
        return len(self._prompts)


def load_library(dirs: Sequence[Path] = (), *, include_builtin: bool = True) -> PromptLibrary:
    """Load the shipped packs, then every `*.toml` pack in each of `dirs`, in name order.

    Ids must be unique across everything loaded: an organiser's pack adds prompts but cannot
    silently replace a shipped one. Raises `ConfigError` naming the file, the prompt and the
    fix for the first problem found.
    """
    directories = [BUILTIN_PROMPTS_DIR, *dirs] if include_builtin else list(dirs)
    packs: list[PromptPack] = []
    prompts: list[Prompt] = []
    pack_files: dict[str, str] = {}
    prompt_files: dict[str, str] = {}
    seen_dirs: set[Path] = set()
    for directory in directories:
        if not directory.is_dir():
            raise ConfigError(
                str(directory),
                "is not a directory of prompt packs; create it or remove it from the list",
            )
        if directory.resolve() in seen_dirs:
            continue
        seen_dirs.add(directory.resolve())
        for path in sorted(directory.glob("*.toml")):
            label = _label(directory, path)
            pack, pack_prompts = _read_pack(path, label)
            if pack.id in pack_files:
                raise ConfigError(
                    f"{label}: pack.id",
                    f"'{pack.id}' is already the id of the pack in {pack_files[pack.id]}; "
                    "give this pack another id",
                )
            pack_files[pack.id] = label
            for prompt in pack_prompts:
                if prompt.id in prompt_files:
                    other = prompt_files[prompt.id]
                    where = "earlier in this file" if other == label else f"in {other}"
                    raise ConfigError(
                        f"{label}: prompt '{prompt.id}'.id",
                        f"'{prompt.id}' is already used {where}; prompt ids must be unique "
                        "across all packs, so rename one of them",
                    )
                prompt_files[prompt.id] = label
            packs.append(pack)
            prompts.extend(pack_prompts)
    return PromptLibrary(packs, prompts)


def _label(directory: Path, path: Path) -> str:
    if directory.resolve() == BUILTIN_PROMPTS_DIR:
        return f"prompts/{path.name}"
    return str(directory / path.name)


def _read_pack(path: Path, label: str) -> tuple[PromptPack, list[Prompt]]:
    try:
        with path.open("rb") as file:
            data = tomllib.load(file)
    except tomllib.TOMLDecodeError as exc:
        reason = str(exc)
        position = _TOML_POSITION.search(reason)
        key = f"{label}:{position.group(1)}" if position else label
        reason = _TOML_POSITION.sub("", reason)
        raise ConfigError(
            key, f"is not valid TOML ({reason}); fix the syntax there (see https://toml.io)"
        ) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(label, "is not UTF-8 text; save the file as UTF-8") from exc
    except OSError as exc:
        raise ConfigError(label, f"cannot be read ({exc.strerror}); check it exists") from exc

    _reject_unknown_keys(data, _TOP_KEYS, f"{label}: ", "a pack file holds [pack] and [[prompt]]")
    pack = _read_pack_table(data.get("pack"), path, label)
    raw_prompts = data.get("prompt")
    if raw_prompts is None:
        raise ConfigError(f"{label}: prompt", "is missing; add at least one [[prompt]] table")
    if not isinstance(raw_prompts, list) or not all(isinstance(t, dict) for t in raw_prompts):
        raise ConfigError(f"{label}: prompt", "must be tables; start each prompt with [[prompt]]")
    prompts = [_read_prompt(t, n, pack.id, label) for n, t in enumerate(raw_prompts, start=1)]
    return pack, prompts


def _read_pack_table(table: object, path: Path, label: str) -> PromptPack:
    key = f"{label}: pack"
    if table is None:
        raise ConfigError(key, "is missing; start the file with a [pack] table (id, title)")
    if not isinstance(table, dict):
        raise ConfigError(key, "must be a table; write it as a [pack] header")
    _reject_unknown_keys(table, _PACK_KEYS, f"{key}.", "a [pack] has id, title, description")
    pack_id = _slug(_required_str(table, "id", f"{key}.id"), f"{key}.id", "id")
    title = _required_str(table, "title", f"{key}.title")
    description = table.get("description", "")
    if not isinstance(description, str):
        raise ConfigError(f"{key}.description", 'must be a string, e.g. description = "..."')
    translations = {}
    for lang in TRANSLATED:
        if lang in table:
            own = _translation(table[lang], f"{key}.{lang}", ("title", "description"))
            translations[lang] = (
                _bounded_text(_required_str(own, "title", f"{key}.{lang}.title"), f"{key}.title"),
                str(own.get("description", description)).strip(),
            )
    return PromptPack(
        id=pack_id,
        title=_bounded_text(title, f"{key}.title"),
        description=description.strip(),
        source=path,
        translations=translations,
    )


def _translation(table: object, key: str, allowed: Sequence[str]) -> Mapping[str, object]:
    if not isinstance(table, dict):
        raise ConfigError(key, f"must be a table; write it as a [{key.rsplit(': ', 1)[-1]}] header")
    _reject_unknown_keys(table, allowed, f"{key}.", f"it holds {', '.join(allowed)}")
    return table


def _read_prompt(table: Mapping[str, object], number: int, pack_id: str, label: str) -> Prompt:
    raw_id = table.get("id")
    name = (
        f"{label}: prompt '{raw_id}'" if isinstance(raw_id, str) else f"{label}: prompt #{number}"
    )
    _reject_unknown_keys(
        table, _PROMPT_KEYS, f"{name}.", "a prompt has id, kind, text or parts, and tags"
    )
    prompt_id = _slug(_required_str(table, "id", f"{name}.id"), f"{name}.id", "id")
    kind = _kind(_required_str(table, "kind", f"{name}.kind", "checkin"), f"{name}.kind")
    if kind == "provocation":
        parts = _provocation_parts(table, name)
    else:
        if "parts" in table:
            raise ConfigError(
                f"{name}.parts",
                f'a {kind} asks a single question: put it in text = "..." and remove parts',
            )
        parts = _single(table, name)
    translations = {}
    for lang in TRANSLATED:
        if lang in table:
            own = _translation(table[lang], f"{name}.{lang}", ("text", "parts"))
            where = f"{name}.{lang}"
            translated = (
                _provocation_parts(own, where) if kind == "provocation" else _single(own, where)
            )
            if len(translated) != len(parts):
                raise ConfigError(
                    f"{where}.parts",
                    f"has {len(translated)} parts and the English has {len(parts)}; "
                    "a translation asks the same questions in the same turns",
                )
            translations[lang] = translated
    return Prompt(
        id=prompt_id,
        kind=kind,
        parts=parts,
        tags=_tags(table, f"{name}.tags"),
        pack=pack_id,
        translations=translations,
    )


def _single(table: Mapping[str, object], name: str) -> tuple[str, ...]:
    text = _required_str(table, "text", f"{name}.text")
    return (_bounded_text(text, f"{name}.text"),)


def _provocation_parts(table: Mapping[str, object], name: str) -> tuple[str, ...]:
    if "text" in table:
        raise ConfigError(
            f"{name}.text",
            'a provocation uses parts, 1 to 3 questions asked in turn: write parts = ["..."]',
        )
    if "parts" not in table:
        raise ConfigError(f"{name}.parts", 'is missing; add parts = ["first question", ...]')
    raw = table["parts"]
    if not isinstance(raw, list):
        raise ConfigError(f"{name}.parts", 'must be a list of strings, e.g. parts = ["...", "..."]')
    if not raw:
        raise ConfigError(
            f"{name}.parts", f"is empty; add 1 to {MAX_PARTS} questions, asked in turn"
        )
    if len(raw) > MAX_PARTS:
        raise ConfigError(
            f"{name}.parts",
            f"has {len(raw)} parts; a provocation has 1 to {MAX_PARTS}, asked one after "
            "another, so merge some parts or split it into two provocations",
        )
    parts: list[str] = []
    for index, part in enumerate(raw):
        if not isinstance(part, str):
            raise ConfigError(f"{name}.parts[{index}]", "must be a string in double quotes")
        parts.append(_bounded_text(part, f"{name}.parts[{index}]"))
    return tuple(parts)


def _tags(table: Mapping[str, object], key: str) -> tuple[str, ...]:
    raw = table.get("tags", [])
    if not isinstance(raw, list) or not all(isinstance(tag, str) for tag in raw):
        raise ConfigError(key, 'must be a list of strings, e.g. tags = ["care", "opening"]')
    tags = [_slug(tag, key, "tag") for tag in raw]
    return tuple(dict.fromkeys(tags))


def _reject_unknown_keys(
    table: Mapping[str, object], allowed: Sequence[str], prefix: str, known: str
) -> None:
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise ConfigError(f"{prefix}{key}", f"is not a known key; {hint}{known}")


def _required_str(table: Mapping[str, object], field: str, key: str, example: str = "...") -> str:
    if field not in table:
        raise ConfigError(key, f'is missing; add {field} = "{example}"')
    value = table[field]
    if not isinstance(value, str):
        raise ConfigError(key, f'must be a string in double quotes, e.g. {field} = "{example}"')
    return value


def _bounded_text(text: str, key: str) -> str:
    stripped = text.strip()
    if not stripped:
        raise ConfigError(key, "is empty; write the question, or remove the prompt")
    if len(stripped) > MAX_TEXT_LENGTH:
        raise ConfigError(
            key,
            f"is {len(stripped)} characters long; keep it to {MAX_TEXT_LENGTH} or fewer so it "
            "reads well in one chat message",
        )
    return stripped


def _slug(value: str, key: str, what: str) -> str:
    if len(value) > MAX_ID_LENGTH or not _SLUG.fullmatch(value):
        raise ConfigError(
            key,
            f"'{value}' is not a valid {what}; {_SLUG_HINT}, at most {MAX_ID_LENGTH} characters",
        )
    return value


def _kind(value: str, key: str) -> PromptKind:
    for kind in KINDS:
        if value == kind:
            return kind
    raise ConfigError(key, f"'{value}' is not a prompt kind; use one of {', '.join(KINDS)}")


def prompt_dirs(extra_dirs: Sequence[Path], base: Path) -> tuple[Path, ...]:
    """The organisers' `[prompts] extra_dirs`, relative ones read from the config's folder."""
    return tuple(d if d.is_absolute() else base / d for d in extra_dirs)


@functools.cache
def cached_library(dirs: tuple[Path, ...]) -> PromptLibrary:
    """The library for these extra directories, loaded once per process (packs are static)."""
    return load_library(dirs)


def library_for(config: Config) -> PromptLibrary:
    """The shipped packs plus the organisers' own (`[prompts] extra_dirs`), loaded once."""
    return cached_library(prompt_dirs(config.model.prompts.extra_dirs, config.base))


def parts_in(
    config: Config, prompt_id: str | None, asked: tuple[str, ...], lang: str | None
) -> tuple[str, ...]:
    """What a round or breakout asked (`asked`, stored in English when it came from the
    library), in the reader's language: the library's translation of `prompt_id`, else
    `asked` as typed (or as the library had it then, if it has changed since)."""
    library = library_for(config)
    if prompt_id is None or prompt_id not in library:
        return asked
    prompt = library.get(prompt_id)
    return prompt.parts_in(lang) if prompt.parts == asked else asked


def question_in(config: Config, prompt_id: str | None, asked: str, lang: str | None) -> str:
    """`parts_in` for a question stored as one text, its parts one per line."""
    return "\n".join(parts_in(config, prompt_id, tuple(asked.split("\n")), lang))
