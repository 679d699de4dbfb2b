"""`community-bot` on the command line: run, check a config, upgrade the database."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from bot import __version__, logs
from bot.config import Config, load_config
from bot.errors import ConfigError
from bot.i18n import DEFAULT, LANGUAGES

log = logging.getLogger("bot")
DEFAULT_CONFIG = Path("config.toml")
EXIT_CONFIG = 2


def _config_path(given: Path | None) -> Path:
    if given is not None:
        return given
    if DEFAULT_CONFIG.exists():
        return DEFAULT_CONFIG
    return Path("config.example.toml")


def load(args: argparse.Namespace) -> Config:
    """The config named on the command line, with `run`'s flags applied over it."""
    config = load_config(_config_path(getattr(args, "config", None)))
    web_updates: dict[str, object] = {}
    if getattr(args, "host", None):
        web_updates["host"] = args.host
    if getattr(args, "port", None) is not None:
        web_updates["port"] = args.port
    model = config.model
    if web_updates:
        model = model.model_copy(update={"web": model.web.model_copy(update=web_updates)})
    if getattr(args, "data_dir", None):
        storage = model.storage.model_copy(update={"data_dir": args.data_dir.resolve()})
        model = model.model_copy(update={"storage": storage})
    return Config(model, config.secrets, config.base)


def cmd_run(args: argparse.Namespace) -> int:
    config = load(args)
    logs.configure(config)
    try:  # uvloop comes with uvicorn[standard] where it has wheels; its loop costs less
        import uvloop
    except ImportError:
        asyncio.run(_serve(config))
    else:
        uvloop.run(_serve(config))
    return 0


async def _serve(config: Config) -> None:
    from bot.app import running

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with running(config) as run:
        # What start-up built (modules, mappers, compiled statements) lives as long as the
        # process: moved out of the collector's sight, a full collection no longer walks it,
        # which was most of the pauses that made the slowest replies slow.
        gc.freeze()
        if run.web is not None:
            print(
                f"community-bot {__version__} is running: http://{run.web.host}:{run.web.port}/",
                flush=True,
            )
        await stop.wait()
        log.info("stopping")


def cmd_check_config(args: argparse.Namespace) -> int:
    config = load_config(_config_path(args.path))
    print(config.describe())
    print("configuration OK")
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from bot.db import upgrade

    upgrade(load(args).database_url())
    print("database is up to date")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from bot.backup import BackupError, backup_sqlite, default_target

    config = load(args)
    target = args.output or default_target(config.data_dir)
    try:
        written = backup_sqlite(config.database_url(), target)
    except BackupError as exc:
        print(f"backup failed: {exc}", file=sys.stderr)
        return 1
    print(f"backed up to {written}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from bot.checkins.export import write_export

    text = asyncio.run(write_export(load(args).database_url(), args.round_id, args.format))
    if text is None:
        print(f"there is no check-in round {args.round_id}", file=sys.stderr)
        return 1
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
    return 0


def cmd_discord_invite_url(args: argparse.Namespace) -> int:
    from adapters.discord.invite import application_id_of, invite_url

    app_id = args.application_id
    if app_id is None:
        config = load(args)
        section = config.model.discord
        if section is None:
            raise ConfigError("discord", "add a [discord] section, or give --application-id")
        app_id = application_id_of(config.secret(section.token_env).reveal())
    if not app_id or not app_id.isdigit():
        print(
            "give --application-id (General Information in the Developer Portal)", file=sys.stderr
        )
        return 2
    print(invite_url(app_id))
    return 0


def cmd_prompts_list(args: argparse.Namespace) -> int:
    from bot.prompts import load_library, prompt_dirs

    config = load(args)
    library = load_library(prompt_dirs(config.model.prompts.extra_dirs, config.base))
    found = library.with_tag(args.tag) if args.tag else library.all()
    for prompt in found:
        text = prompt.text_in(args.lang).replace("\n", "\n    ")
        print(f"{prompt.id}  [{prompt.kind}; {', '.join(prompt.tags)}]\n    {text}")
    if not found:
        print(f"no prompt is tagged {args.tag!r}", file=sys.stderr)
        return 1
    return 0


def cmd_events_import(args: argparse.Namespace) -> int:
    from bot.errors import UserInputError
    from bot.events.ical import import_offline

    try:
        print(asyncio.run(import_offline(load(args), str(args.source))))
    except UserInputError as exc:
        print(exc.reply_text(), file=sys.stderr)
        return 1
    return 0


class _NoSecrets(Mapping[str, str]):
    """An environment in which every secret is set to a placeholder: the Slack manifest is
    written before the app (and so its tokens) exists."""

    def __getitem__(self, name: str) -> str:
        return "(not needed here)"

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def cmd_slack_manifest(args: argparse.Namespace) -> int:
    from adapters.slack.manifest import manifest_yaml

    config = load_config(_config_path(args.config), _NoSecrets())
    sys.stdout.write(manifest_yaml(config))
    return 0


def cmd_whatsapp_templates(args: argparse.Namespace) -> int:
    from adapters.whatsapp.templates import describe

    languages = tuple(args.language or ())
    if not languages and args.config is not None:
        section = load(args).model.whatsapp
        languages = (section.template_language,) if section else ()
    print(describe(languages or ("en",)), end="")
    return 0


def cmd_version(args: argparse.Namespace) -> int:
    print(f"community-bot {__version__}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="community-bot",
        description="Runs a community's rituals in the chat tools people already use.",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run the bot", description="Run the bot until SIGTERM.")
    run.add_argument(
        "--config",
        type=Path,
        help="the TOML config (default config.toml, else config.example.toml)",
    )
    run.add_argument("--host", help="listen on this address (overrides web.host)")
    run.add_argument("--port", type=int, help="listen on this port (overrides web.port)")
    run.add_argument("--data-dir", type=Path, help="keep data here (overrides storage.data_dir)")
    run.set_defaults(func=cmd_run)

    check = sub.add_parser(
        "check-config",
        help="validate a config file",
        description="Validate a config; exit 2 naming the key if it is wrong.",
    )
    check.add_argument("path", nargs="?", type=Path)
    check.set_defaults(func=cmd_check_config)

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    up = db_sub.add_parser(
        "upgrade",
        help="apply pending migrations",
        description="Apply every pending schema migration.",
    )
    up.add_argument("--config", type=Path)
    up.add_argument("--data-dir", type=Path)
    up.set_defaults(func=cmd_db_upgrade)

    bk = sub.add_parser(
        "backup",
        help="copy the SQLite database, even while the bot runs",
        description="Write a consistent copy of the SQLite database (PostgreSQL: use pg_dump).",
    )
    bk.add_argument(
        "--output", type=Path, help="the new file (default <data_dir>/backups/<time>.db)"
    )
    bk.add_argument("--config", type=Path)
    bk.add_argument("--data-dir", type=Path)
    bk.set_defaults(func=cmd_backup)

    exp = sub.add_parser(
        "export",
        help="write a check-in round's answers",
        description="Write one check-in round's answers as CSV, JSON or Markdown.",
    )
    exp.add_argument("round_id", type=int, help="the round's number (shown when it opened)")
    exp.add_argument("--format", choices=("csv", "json", "md"), default="csv")
    exp.add_argument("--output", type=Path, help="write to this file (default: standard output)")
    exp.add_argument("--config", type=Path)
    exp.add_argument("--data-dir", type=Path)
    exp.set_defaults(func=cmd_export)

    prompts = sub.add_parser("prompts", help="the prompt library")
    prompts_sub = prompts.add_subparsers(dest="prompts_command", required=True, metavar="ACTION")
    listing = prompts_sub.add_parser(
        "list",
        help="list prompts",
        description="List the shipped prompts and those in the config's [prompts] extra_dirs.",
    )
    listing.add_argument("--tag", help="only prompts with this tag")
    listing.add_argument(
        "--lang", choices=LANGUAGES, default=DEFAULT, help="show the prompts in this language"
    )
    listing.add_argument("--config", type=Path)
    listing.set_defaults(func=cmd_prompts_list)

    events = sub.add_parser("events", help="events maintenance")
    events_sub = events.add_subparsers(dest="events_command", required=True, metavar="ACTION")
    imp = events_sub.add_parser(
        "import",
        help="import an .ics file or feed",
        description="Import events from an .ics file or http(s) feed; again = update by UID.",
    )
    imp.add_argument("source", help="an .ics file or an http(s) URL")
    imp.add_argument("--config", type=Path)
    imp.add_argument("--data-dir", type=Path)
    imp.set_defaults(func=cmd_events_import)

    disc = sub.add_parser("discord", help="Discord set-up")
    disc_sub = disc.add_subparsers(dest="discord_command", required=True, metavar="ACTION")
    invite = disc_sub.add_parser(
        "invite-url",
        help="print the link that adds the bot to a server",
        description="Print the OAuth2 link that adds the bot to a Discord server with the "
        "permissions it uses. The application id is read from the bot token in [discord] "
        "token_env unless given.",
    )
    invite.add_argument("--application-id", help="the application's id (Developer Portal)")
    invite.add_argument("--config", type=Path)
    invite.set_defaults(func=cmd_discord_invite_url)

    slack = sub.add_parser("slack", help="Slack app setup")
    slack_sub = slack.add_subparsers(dest="slack_command", required=True, metavar="ACTION")
    man = slack_sub.add_parser(
        "manifest",
        help="print the Slack app manifest for this config",
        description="Print the app manifest (YAML) for the config's [slack] section: paste it "
        "into api.slack.com/apps > Create New App > From a manifest.",
    )
    man.add_argument("--config", type=Path)
    man.set_defaults(func=cmd_slack_manifest)

    whatsapp = sub.add_parser("whatsapp", help="WhatsApp set-up")
    wa_sub = whatsapp.add_subparsers(dest="whatsapp_command", required=True, metavar="ACTION")
    templates = wa_sub.add_parser(
        "templates",
        help="print the message templates to submit to Meta",
        description="Print the templates the bot sends outside WhatsApp's 24-hour window: "
        "names, categories, bodies with their parameters, languages.",
    )
    templates.add_argument(
        "--language", action="append", help="a template language (repeatable; default en)"
    )
    templates.add_argument("--config", type=Path, help="take the language from [whatsapp]")
    templates.set_defaults(func=cmd_whatsapp_templates)

    version = sub.add_parser("version", help="print the version")
    version.set_defaults(func=cmd_version)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    logs.configure(None)
    args = parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    return code


if __name__ == "__main__":
    sys.exit(main())
