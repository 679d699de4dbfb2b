"""Validates Web API calls against Slack's published OpenAPI 2 spec (`slack-web-openapi.json`).

The spec lists each method's parameters (form fields, query or header) with a type. Slack
takes any parameter by query, form or JSON body on any verb, and the token as a Bearer header
(what slack_sdk sends), so a call is checked by name: the method must exist, every argument
must be one the method has, of its type, and every required one present.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SPEC = Path(__file__).resolve().parents[2].parent / "shared" / "specs" / "slack-web-openapi.json"

NEWER_THAN_SPEC: Mapping[str, Mapping[str, str]] = {
    "apps.connections.open": {},
}
"""Methods Slack added after the spec was published (2021), with their parameters' types:
Socket Mode's `apps.connections.open` takes only the app-level token."""

EVERY_METHOD: Mapping[str, str] = {"team_id": "string"}
"""Taken by every method since org-wide apps (after the spec): slack-bolt's per-request
client adds the workspace's `team_id` to each call it makes (its `auth.test` included)."""


@dataclass(frozen=True)
class Param:
    kind: str
    required: bool


@functools.cache
def methods() -> dict[str, dict[str, Param]]:
    """method name -> parameter name -> its type and whether it is required (loaded once)."""
    spec = json.loads(SPEC.read_text(encoding="utf-8"))
    found: dict[str, dict[str, Param]] = {}
    for path, verbs in spec["paths"].items():
        params: dict[str, Param] = {}
        for operation in verbs.values():
            for p in operation.get("parameters", []):
                params[p["name"]] = Param(p.get("type", "string"), bool(p.get("required")))
        found[path.lstrip("/")] = params
    for name, extra in NEWER_THAN_SPEC.items():
        found[name] = {"token": Param("string", True)} | {
            k: Param(v, False) for k, v in extra.items()
        }
    for params in found.values():
        for name, kind in EVERY_METHOD.items():
            params.setdefault(name, Param(kind, False))
    return found


def _type_ok(kind: str, value: Any, from_json: bool) -> bool:
    if kind == "boolean":
        return isinstance(value, bool) or value in ("true", "false", "1", "0")
    if kind == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, str) and value.lstrip("-").isdigit()
        )
    if kind == "number":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return True
        try:
            float(value)
        except (TypeError, ValueError):
            return False
        return True
    # a string; in a JSON body Slack also takes the object or array a string would encode
    return isinstance(value, str) or (from_json and isinstance(value, dict | list))


def problems(method: str, args: Mapping[str, Any], *, bearer: bool, from_json: bool) -> list[str]:
    """What is wrong with a call (empty when it is one Slack accepts)."""
    known = methods().get(method)
    if known is None:
        return [f"unknown method {method}"]
    found = [f"{method}: unknown argument {name!r}" for name in args if name not in known]
    for name, param in known.items():
        if name in args:
            if not _type_ok(param.kind, args[name], from_json):
                found.append(f"{method}: {name!r} is not a {param.kind}: {args[name]!r}")
        elif param.required and not (name == "token" and bearer):
            found.append(f"{method}: required argument {name!r} missing")
    return found
