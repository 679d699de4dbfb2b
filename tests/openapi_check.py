"""Checks one HTTP request against an OpenAPI 3.x spec, for fake platform servers.

A fake should accept exactly what the real API accepts, so every request the bot sends is matched
to its operation (unknown path or method is a problem), its path, query and header parameters are
typed, its security requirement is met and its JSON, form or multipart body is validated with
jsonschema against the operation's schema, `$ref`s resolved within the spec.

Decisions where specs are loose:
- Top-level body fields the schema does not document are problems even where the schema leaves
  `additionalProperties` unset (strict on documented properties); a schema that says
  `additionalProperties: true` (or a schema) or documents no properties at all stays open.
- `additionalProperties: false` inside one branch of an `allOf` (a common OpenAPI idiom meaning
  "nothing beyond the properties of all the branches") is read that way, as
  `unevaluatedProperties: false` on the `allOf`, not as JSON Schema's literal reading that would
  refuse every property of the other branches.
- OpenAPI 3.0 schemas are turned into JSON Schema 2020-12 first (`nullable`, boolean
  `exclusiveMinimum`/`exclusiveMaximum`); 3.1 schemas already are.
- `Accept` and `Content-Type` header parameters are ignored (OpenAPI says so; the body's media type
  is checked against the operation's content instead); a declared `Authorization` parameter is
  checked, since it is how some specs state the token format.

openapi-core was measured on the same specs and not used: see tests/test_openapi_check.py's
module docstring for the figures.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import jsonschema
import referencing
import referencing.jsonschema
import yaml

SPECS_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "specs"
"""Where the platform specs live: `<repo>/../shared/specs`, beside the clone (CI and worktrees)."""

_SPEC_URI = "urn:openapi-check:spec"
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_IGNORED_HEADERS = {"accept", "content-type"}

Query = str | Mapping[str, str] | Iterable[tuple[str, str]]


@dataclass(frozen=True)
class Checked:
    """What one request matched and every way it departs from the spec (none when `ok`)."""

    problems: tuple[str, ...]
    operation_id: str | None = None
    template: str | None = None
    path_params: dict[str, Any] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    body: Any = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def require_ok(self) -> Checked:
        """Return self, or fail the test with every problem listed."""
        if self.problems:
            raise AssertionError("request departs from the spec:\n  " + "\n  ".join(self.problems))
        return self


@dataclass(frozen=True)
class _Route:
    template: str
    pattern: re.Pattern[str]
    names: tuple[str, ...]
    literal_chars: int
    item: dict[str, Any]


class OpenAPISpec:
    """One loaded spec: routes compiled, schemas normalised, a jsonschema registry built."""

    def __init__(self, document: dict[str, Any], *, base_path: str | None = None) -> None:
        version = str(document.get("openapi", ""))
        if not version.startswith("3."):
            raise ValueError(f"not an OpenAPI 3.x document (openapi: {version!r})")
        self.document = _normalise(copy.deepcopy(document), legacy=version.startswith("3.0"))
        self.base_path = _server_path(self.document) if base_path is None else base_path
        resource = referencing.jsonschema.DRAFT202012.create_resource(self.document)
        self._registry: referencing.Registry[Any] = referencing.Registry().with_resource(
            _SPEC_URI, resource
        )
        self._routes = sorted(
            (_route(t, item) for t, item in self.document.get("paths", {}).items()),
            key=lambda r: (-r.literal_chars, len(r.names)),
        )
        self._validators: dict[int, jsonschema.protocols.Validator] = {}

    def check(
        self,
        method: str,
        path: str,
        *,
        query: Query = (),
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
    ) -> Checked:
        """Check one request; `path` may carry the spec's server base path (e.g. /api/v10)."""
        lowered = {k.lower(): v for k, v in (headers or {}).items()}
        if self.base_path and (path == self.base_path or path.startswith(self.base_path + "/")):
            path = path[len(self.base_path) :] or "/"
        found = self._match(method.lower(), path)
        if isinstance(found, str):
            return Checked(problems=(found,))
        route, values = found
        op = route.item[method.lower()]
        problems: list[str] = []
        params = self._parameters(route.item, op)
        path_params = self._path_params(
            params, dict(zip(route.names, values, strict=True)), problems
        )
        pairs = _query_pairs(query)
        security_query = self._security(op, lowered, pairs, problems)
        query_values = self._query(params, pairs, security_query, problems)
        self._headers(params, lowered, problems)
        parsed = self._body(op, lowered.get("content-type"), body, problems)
        where = f"{method.upper()} {route.template}"
        return Checked(
            problems=tuple(f"{where}: {p}" for p in problems),
            operation_id=op.get("operationId"),
            template=route.template,
            path_params=path_params,
            query=query_values,
            body=parsed,
        )

    def _match(self, method: str, path: str) -> tuple[_Route, tuple[str, ...]] | str:
        allowed: set[str] = set()
        for route in self._routes:
            m = route.pattern.fullmatch(path)
            if m is None:
                continue
            if method in route.item:
                return route, tuple(unquote(g) for g in m.groups())
            allowed.update(k for k in route.item if k in _METHODS)
        if allowed:
            return f"{method.upper()} {path}: method not in the spec (has {sorted(allowed)})"
        return f"{method.upper()} {path}: no such path in the spec"

    def _parameters(self, item: dict[str, Any], op: dict[str, Any]) -> list[dict[str, Any]]:
        merged: dict[tuple[str, str], dict[str, Any]] = {}
        for raw in [*item.get("parameters", []), *op.get("parameters", [])]:
            param = self._deref(raw)
            merged[(param["name"], param["in"])] = param
        return list(merged.values())

    def _path_params(
        self, params: list[dict[str, Any]], values: dict[str, str], problems: list[str]
    ) -> dict[str, Any]:
        typed: dict[str, Any] = {}
        declared = {p["name"]: p for p in params if p["in"] == "path"}
        for name, raw in values.items():
            param = declared.get(name)
            if param is None:
                problems.append(f"path parameter {name!r} is not declared")
                continue
            typed[name] = self._typed(f"path parameter {name!r}", param, [raw], problems)
        return typed

    def _query(
        self,
        params: list[dict[str, Any]],
        pairs: list[tuple[str, str]],
        skip: set[str],
        problems: list[str],
    ) -> dict[str, Any]:
        grouped: dict[str, list[str]] = {}
        for key, value in pairs:
            grouped.setdefault(key, []).append(value)
        declared = {p["name"]: p for p in params if p["in"] == "query"}
        typed: dict[str, Any] = {}
        for name, values in grouped.items():
            if name in skip:
                continue
            param = declared.get(name)
            if param is None:
                problems.append(f"query parameter {name!r} is not in the spec")
                continue
            typed[name] = self._typed(f"query parameter {name!r}", param, values, problems)
        for name, param in declared.items():
            if param.get("required") and name not in grouped:
                problems.append(f"required query parameter {name!r} is missing")
        return typed

    def _headers(
        self, params: list[dict[str, Any]], headers: dict[str, str], problems: list[str]
    ) -> None:
        for param in params:
            name = param["name"].lower()
            if param["in"] != "header" or name in _IGNORED_HEADERS:
                continue
            if name in headers:
                self._typed(f"header {param['name']!r}", param, [headers[name]], problems)
            elif param.get("required"):
                problems.append(f"required header {param['name']!r} is missing")

    def _security(
        self,
        op: dict[str, Any],
        headers: dict[str, str],
        pairs: list[tuple[str, str]],
        problems: list[str],
    ) -> set[str]:
        """Check that one security requirement is met; returns the query names it uses."""
        requirements = op.get("security", self.document.get("security"))
        schemes = self.document.get("components", {}).get("securitySchemes", {})
        if not requirements:
            return set()
        query_names = {k for k, _ in pairs}
        used: set[str] = set()
        for requirement in requirements:
            met = True
            for scheme_name in requirement:
                scheme = self._deref(schemes.get(scheme_name, {}))
                kind, where = scheme.get("type"), scheme.get("in")
                auth = headers.get("authorization", "")
                if kind == "apiKey" and where == "query":
                    met = met and scheme.get("name") in query_names
                    used.add(scheme.get("name", ""))
                elif kind == "apiKey":
                    met = met and scheme.get("name", "").lower() in headers
                elif kind == "http":
                    met = met and auth.lower().startswith(scheme.get("scheme", "").lower() + " ")
                else:
                    met = met and bool(auth)
            if met:
                return used
        names = [" + ".join(r) or "(none)" for r in requirements]
        problems.append(f"no security requirement met (needs one of: {', '.join(names)})")
        return used

    def _typed(
        self, what: str, param: dict[str, Any], values: list[str], problems: list[str]
    ) -> Any:
        schema = param.get("schema")
        if schema is None:
            for media in param.get("content", {}).values():
                schema = media.get("schema")
                values = [json.loads(v) if _is_json(v) else v for v in values]
                break
        schema = schema or {}
        value = _coerce(self._deref(schema), values, self._deref)
        errors = self._errors(schema, value)
        problems.extend(f"{what}: {e}" for e in errors)
        return value

    def _body(
        self,
        op: dict[str, Any],
        content_type: str | None,
        body: bytes,
        problems: list[str],
    ) -> Any:
        request_body = self._deref(op.get("requestBody", {}))
        content = request_body.get("content", {})
        if not body:
            if request_body.get("required"):
                problems.append("the request body is required")
            return None
        if not content:
            problems.append("the operation takes no request body")
            return None
        media = (content_type or "").split(";")[0].strip().lower()
        key = _media_key(media, content)
        if key is None:
            problems.append(f"body media type {media or '(none)'!r} not in {sorted(content)}")
            return None
        schema = content[key].get("schema") or {}
        try:
            value = self._decode(media, content_type or "", body, schema)
        except ValueError as exc:
            problems.append(f"body does not parse as {media}: {exc}")
            return None
        problems.extend(f"body: {e}" for e in self._errors(schema, value))
        if isinstance(value, dict) and self._deref(schema).get("additionalProperties") is not False:
            documented = self._documented(schema, set())
            if documented is not None:
                unknown = sorted(set(value) - documented)
                problems.extend(f"body field {k!r} is not in the spec" for k in unknown)
        return value

    def _decode(self, media: str, content_type: str, body: bytes, schema: dict[str, Any]) -> Any:
        if media == "application/json" or media.endswith("+json"):
            return json.loads(body)
        if media == "application/x-www-form-urlencoded":
            fields = parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=True)
        elif media == "multipart/form-data":
            fields = _multipart(content_type, body)
        else:
            return body
        grouped: dict[str, list[str]] = {}
        for key, value in fields:
            grouped.setdefault(key, []).append(value)
        properties = self._properties(schema)
        return {
            k: _coerce(self._deref(properties.get(k, {})), v, self._deref)
            for k, v in grouped.items()
        }

    def _properties(self, schema: dict[str, Any]) -> dict[str, Any]:
        schema = self._deref(schema)
        found = dict(schema.get("properties", {}))
        for key in ("allOf", "oneOf", "anyOf"):
            for branch in schema.get(key, []):
                found.update(self._properties(branch))
        return found

    def _documented(self, schema: dict[str, Any], seen: set[str]) -> set[str] | None:
        """The top-level property names a body may carry, or None where the schema is open."""
        ref = schema.get("$ref")
        if ref is not None:
            if ref in seen:
                return None
            seen = seen | {ref}
        schema = self._deref(schema)
        extra = schema.get("additionalProperties")
        if extra is not None and extra is not False:
            return None
        names = set(schema.get("properties", {}))
        for key in ("allOf", "oneOf", "anyOf"):
            for branch in schema.get(key, []):
                inner = self._documented(branch, seen)
                if inner is None:
                    return None
                names |= inner
        return names or None

    def _errors(self, schema: dict[str, Any], value: Any) -> list[str]:
        validator = self._validators.get(id(schema))
        if validator is None:
            validator = jsonschema.Draft202012Validator(_absolute(schema), registry=self._registry)
            self._validators[id(schema)] = validator
        return [_describe(e) for e in sorted(validator.iter_errors(value), key=_error_path)]

    def _deref(self, node: Any) -> Any:
        seen = set()
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if ref in seen or not ref.startswith("#"):
                break
            seen.add(ref)
            node = _pointer(self.document, ref[1:])
        return node


def _error_path(error: jsonschema.ValidationError) -> str:
    return "/".join(map(str, error.absolute_path)) or "(root)"


def _describe(error: jsonschema.ValidationError) -> str:
    """One error; for a failed oneOf/anyOf, also why the closest branch (fewest errors) failed."""
    text = f"{_error_path(error)}: {error.message}"
    branches: dict[Any, list[jsonschema.ValidationError]] = {}
    for inner in error.context or []:
        branches.setdefault(inner.relative_schema_path[0], []).append(inner)
    if branches:
        closest = min(branches.values(), key=len)
        text += " (closest branch: " + "; ".join(_describe(e) for e in closest) + ")"
    return text


def load_spec(name_or_path: str | Path, *, base_path: str | None = None) -> OpenAPISpec:
    """Load a spec (a file name in SPECS_DIR, or a path) once per process: once per session."""
    path = Path(name_or_path)
    if not path.is_absolute() and not path.exists():
        path = SPECS_DIR / path
    return _load(path.resolve(), base_path)


@functools.cache
def _load(path: Path, base_path: str | None) -> OpenAPISpec:
    text = path.read_text(encoding="utf-8")
    if path.suffix in (".yaml", ".yml"):
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        document = yaml.load(text, Loader=loader)
    else:
        document = json.loads(text)
    return OpenAPISpec(document, base_path=base_path)


def _route(template: str, item: dict[str, Any]) -> _Route:
    names: list[str] = []
    regex = ""
    literal = 0
    for part in re.split(r"(\{[^}/]+\})", template):
        if part.startswith("{") and part.endswith("}"):
            names.append(part[1:-1])
            regex += "([^/]+)"
        else:
            regex += re.escape(part)
            literal += len(part)
    return _Route(
        template=template,
        pattern=re.compile(regex),
        names=tuple(names),
        literal_chars=literal,
        item=item,
    )


def _server_path(document: dict[str, Any]) -> str:
    servers = document.get("servers") or [{"url": "/"}]
    url = str(servers[0].get("url", "/"))
    for name, var in (servers[0].get("variables") or {}).items():
        url = url.replace("{" + name + "}", str(var.get("default", "")))
    return urlsplit(url).path.rstrip("/")


def _query_pairs(query: Query) -> list[tuple[str, str]]:
    if isinstance(query, str):
        return parse_qsl(query, keep_blank_values=True)
    if isinstance(query, Mapping):
        return [(str(k), str(v)) for k, v in query.items()]
    return [(str(k), str(v)) for k, v in query]


def _multipart(content_type: str, body: bytes) -> list[tuple[str, str]]:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise ValueError("no multipart boundary")
    fields: list[tuple[str, str]] = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            raise ValueError("a part without a name")
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        fields.append((name, data.decode("utf-8", errors="replace")))
    return fields


def _types(schema: dict[str, Any], deref: Any) -> set[str]:
    kind = schema.get("type")
    if isinstance(kind, str):
        return {kind}
    if isinstance(kind, list):
        return set(kind)
    found: set[str] = set()
    for key in ("oneOf", "anyOf", "allOf"):
        for branch in schema.get(key, []):
            found |= _types(deref(branch), deref)
    return found


def _coerce(schema: dict[str, Any], values: list[str], deref: Any) -> Any:
    """Turn the strings of a parameter or form field into the type its schema names."""
    types = _types(schema, deref)
    if "array" in types:
        items = deref(schema.get("items", {}))
        parts = values if len(values) != 1 else [v for v in values[0].split(",") if v]
        return [_scalar(_types(items, deref), v) for v in parts]
    if len(values) > 1:
        return [_scalar(types, v) for v in values]
    return _scalar(types, values[0])


def _scalar(types: set[str], raw: str) -> Any:
    if "string" in types and not types & {"object", "array"}:
        return raw
    if raw == "null" and "null" in types:
        return None
    if "integer" in types and re.fullmatch(r"-?\d+", raw):
        return int(raw)
    if "number" in types and re.fullmatch(r"-?\d+(\.\d+)?([eE][-+]?\d+)?", raw):
        return float(raw)
    if "boolean" in types and raw in ("true", "false"):
        return raw == "true"
    if types & {"object", "array"} and _is_json(raw):
        return json.loads(raw)
    return raw


def _is_json(raw: str) -> bool:
    try:
        json.loads(raw)
    except ValueError:
        return False
    return True


def _media_key(media: str, content: dict[str, Any]) -> str | None:
    if media in content:
        return media
    for key in content:
        if key == "*/*" or (key.endswith("/*") and media.startswith(key[:-1])):
            return key
    return None


def _absolute(schema: Any) -> Any:
    """A copy of an inline schema whose local `$ref`s point into the registered spec."""
    if isinstance(schema, list):
        return [_absolute(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    return {
        k: _SPEC_URI + v
        if k == "$ref" and isinstance(v, str) and v.startswith("#")
        else _absolute(v)
        for k, v in schema.items()
    }


def _pointer(document: Any, pointer: str) -> Any:
    node = document
    for raw in pointer.split("/")[1:]:
        token = unquote(raw).replace("~1", "/").replace("~0", "~")
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node


def _normalise(document: dict[str, Any], *, legacy: bool) -> dict[str, Any]:
    """Rewrite schemas in place: 3.0 keywords to 2020-12, and allOf-closed objects (see module)."""

    def resolve(node: Any) -> Any:
        seen: set[str] = set()
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if ref in seen or not ref.startswith("#"):
                return node
            seen.add(ref)
            node = _pointer(document, ref[1:])
        return node

    def visit(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                visit(item)
            return
        if not isinstance(node, dict):
            return
        for value in node.values():
            visit(value)
        if legacy:
            _legacy(node)
        branches = node.get("allOf")
        if isinstance(branches, list) and any(
            resolve(b).get("additionalProperties") is False for b in branches if isinstance(b, dict)
        ):
            opened = []
            for branch in branches:
                target = resolve(branch)
                if isinstance(target, dict) and target.get("additionalProperties") is False:
                    branch = {k: v for k, v in target.items() if k != "additionalProperties"}
                opened.append(branch)
            node["allOf"] = opened
            node["unevaluatedProperties"] = False

    visit(document.get("paths", {}))
    visit(document.get("components", {}))
    return document


def _legacy(node: dict[str, Any]) -> None:
    """One OpenAPI 3.0 schema object to its JSON Schema 2020-12 meaning."""
    for bound, limit in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if node.get(bound) is True and limit in node:
            node[bound] = node.pop(limit)
        elif node.get(bound) is False:
            del node[bound]
    if node.pop("nullable", False) is True:
        kind = node.get("type")
        if isinstance(kind, str):
            node["type"] = [kind, "null"]
            if isinstance(node.get("enum"), list) and None not in node["enum"]:
                node["enum"] = [*node["enum"], None]
        else:
            inner = {k: node.pop(k) for k in list(node) if k not in ("description", "title")}
            node["anyOf"] = [inner, {"type": "null"}]
