"""A fake Discourse forum on loopback: the REST API the bot calls, and the webhooks it posts.

Every request is checked against `discourse-openapi.json` (the plugin routes that spec lacks
against `PLUGIN_SPEC`: the chat routes as the chat plugin's `Chat::Api::ChannelMessagesController`
and `ChannelThreadsController` and their `CreateMessage`/`UpdateMessage`/`CreateThread`/
`UpdateThread` contracts take them, and discourse-post-event's `InviteesController#index`); a
departure is recorded in `problems` and answered 400, and tests assert that `problems` stays
empty. Beyond the spec, one thing the real
API takes is accepted: `tags` on a new topic (`PostsController#create_params` permits it as a
tracked topic field, as `{id, name}` objects), checked by `TAGS_SCHEMA`.

It behaves like a forum where it matters: the admin API limit as a rolling window answering 429
with `wait_seconds`, titles and bodies refused when too short and titles when used before,
`external_id` unique, PM topics visible only to their participants, and webhooks signed with
HMAC-SHA256 of the body, a fresh `X-Discourse-Event-Id` per delivery attempt.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import re
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import jsonschema
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.discourse import payloads
from tests.openapi_check import OpenAPISpec, load_spec

KEY_HEADERS = [
    {"name": "Api-Key", "in": "header", "required": True, "schema": {"type": "string"}},
    {"name": "Api-Username", "in": "header", "required": True, "schema": {"type": "string"}},
]
CHANNEL = {"name": "channel_id", "in": "path", "required": True, "schema": {"type": "integer"}}
THREAD = {"name": "thread_id", "in": "path", "required": True, "schema": {"type": "integer"}}


def _json_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


THREAD_TITLE = {"type": "string", "maxLength": 100}
PLUGIN_SPEC = OpenAPISpec(
    {
        "openapi": "3.1.0",
        "info": {"title": "Discourse chat plugin (from its controllers)", "version": "1"},
        "paths": {
            "/chat/api/channels/{channel_id}/messages": {
                "post": {
                    "operationId": "createChatMessage",
                    "parameters": [*KEY_HEADERS, CHANNEL],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "additionalProperties": False,
                                    "required": ["message"],
                                    "properties": {
                                        "message": {"type": "string", "minLength": 1},
                                        "in_reply_to_id": {"type": "integer"},
                                        "thread_id": {"type": "integer"},
                                        "upload_ids": {
                                            "type": "array",
                                            "items": {"type": "integer"},
                                        },
                                        "staged_id": {"type": "string"},
                                        "blocks": {"type": "array"},
                                    },
                                }
                            }
                        },
                    },
                }
            },
            "/chat/api/channels/{channel_id}/messages/{message_id}": {
                "put": {
                    "operationId": "updateChatMessage",
                    "parameters": [
                        *KEY_HEADERS,
                        CHANNEL,
                        {
                            "name": "message_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer"},
                        },
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "additionalProperties": False,
                                    "properties": {
                                        "message": {"type": "string", "minLength": 1},
                                        "upload_ids": {
                                            "type": "array",
                                            "items": {"type": "integer"},
                                        },
                                    },
                                }
                            }
                        },
                    },
                }
            },
            "/chat/api/channels/{channel_id}/threads": {
                "post": {
                    "operationId": "createChatThread",
                    "parameters": [*KEY_HEADERS, CHANNEL],
                    "requestBody": _json_body(
                        {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["original_message_id"],
                            "properties": {
                                "original_message_id": {"type": "integer"},
                                "title": THREAD_TITLE,
                            },
                        }
                    ),
                }
            },
            "/chat/api/channels/{channel_id}/threads/{thread_id}": {
                "get": {
                    "operationId": "getChatThread",
                    "parameters": [*KEY_HEADERS, CHANNEL, THREAD],
                },
                "put": {
                    "operationId": "updateChatThread",
                    "parameters": [*KEY_HEADERS, CHANNEL, THREAD],
                    "requestBody": _json_body(
                        {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {"title": THREAD_TITLE},
                        }
                    ),
                },
            },
            "/discourse-post-event/events/{post_id}/invitees.json": {
                "get": {
                    "operationId": "listEventInvitees",
                    "parameters": [
                        *KEY_HEADERS,
                        {
                            "name": "post_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer"},
                        },
                        {
                            "name": "type",
                            "in": "query",
                            "schema": {
                                "type": "string",
                                "enum": ["going", "interested", "not_going"],
                            },
                        },
                        {"name": "filter", "in": "query", "schema": {"type": "string"}},
                    ],
                }
            },
        },
    }
)
INVITEES_PAGE = 200
"""`InviteesController#index` answers at most this many, ordered by status and username."""
SAMPLE_INVITEES = 10
"""`most_likely_going`: what `sample_invitees` holds (`displayed_invitees_limit`)."""
TAGS_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "additionalProperties": False,
        "properties": {"id": {"type": "integer"}, "name": {"type": "string", "minLength": 1}},
        "required": ["name"],
    },
}
ANSWERS_CHECKED = frozenset(
    {
        "createTopicPostPM",
        "updatePost",
        "getPost",
        "inviteToTopic",
        "updateTopicStatus",
        "listEvents",
    }
)
"""Operations whose answers are checked against the spec's response schema; the fake answers
the topic reads (`getTopic`, `getTopicByExternalId`) with only the fields the bot reads."""
COMMENTS = re.compile(r"<!--.*?-->", re.DOTALL)


def cooked_text(raw: str) -> str:
    """What a member reads for a raw body (enough of Discourse's cooking for these tests)."""
    return COMMENTS.sub("", raw).strip()


@dataclass
class Topic:
    id: int
    title: str
    category_id: int | None
    archetype: str
    allowed: set[str] = field(default_factory=set)
    posts: list[int] = field(default_factory=list)
    closed: bool = False
    tags: list[str] = field(default_factory=list)
    external_id: str | None = None


@dataclass
class Post:
    id: int
    topic_id: int
    post_number: int
    username: str
    raw: str
    version: int = 1
    at: float = field(default_factory=time.monotonic)
    written: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def text(self) -> str:
        return cooked_text(self.raw)


@dataclass
class ChatMessage:
    id: int
    channel_id: int
    username: str
    message: str
    thread_id: int | None = None


@dataclass
class ChatThread:
    id: int
    channel_id: int
    original_message_id: int
    title: str | None = None


@dataclass
class Limit:
    """Discourse's admin API limit: `limit` requests in any rolling `window` seconds."""

    limit: int
    window: float
    stamps: deque[float] = field(default_factory=deque)
    refused: int = 0
    most_in_a_window: int = 0

    def admit(self) -> float | None:
        """None when the request may go; else the seconds to wait."""
        now = time.monotonic()
        while self.stamps and now - self.stamps[0] >= self.window:
            self.stamps.popleft()
        if len(self.stamps) >= self.limit:
            self.refused += 1
            return self.stamps[0] + self.window - now
        self.stamps.append(now)
        self.most_in_a_window = max(self.most_in_a_window, len(self.stamps))
        return None


class FakeDiscourse:
    """The forum's state, its API (`app`) and the webhooks it sends (`deliver`)."""

    def __init__(
        self,
        *,
        api_key: str = "test-api-key",
        bot: str = "communitybot",
        secret: str = "webhook-secret-123",
        members: tuple[str, ...] = ("ada", "bob", "carol", "dan", "erin", "frank"),
        categories: tuple[int, ...] = (5, 12),
        chat_channels: tuple[int, ...] = (3,),
        limit: int = 60,
        window: float = 60.0,
        min_post_length: int = 20,
        min_title_length: int = 15,
        base_url: str = "https://forum.example.org",
        invitees_page: int = INVITEES_PAGE,
    ) -> None:
        self.spec = load_spec("discourse-openapi.json")
        self.api_key, self.bot, self.secret = api_key, bot, secret
        self.users = {name: 100 + i for i, name in enumerate((bot, *members))}
        self.categories = set(categories)
        self.chat_channels = set(chat_channels)
        self.min_post_length, self.min_title_length = min_post_length, min_title_length
        self.base_url = base_url
        self.limit = Limit(limit, window)
        self.problems: list[str] = []
        self.calls: Counter[str] = Counter()
        self.pm_counts: Counter[str] = Counter()
        """The bot's PM posts per member taking part: what a fan-out counts."""
        self.pm_times: list[float] = []
        self.topics: dict[int, Topic] = {}
        self.posts: dict[int, Post] = {}
        self.chat: dict[int, ChatMessage] = {}
        self.threads: dict[int, ChatThread] = {}
        self.invitees_page = invitees_page
        self.going: dict[int, list[str]] = {}
        """Event id -> everyone going."""
        self.events: list[dict[str, Any]] = []
        self.webhook_url: str | None = None
        self._query: dict[str, str] = {}
        self._ids = itertools.count(1000)
        self._event_ids = itertools.count(1)
        self.app = Starlette(
            routes=[Route("/{path:path}", self._handle, methods=["GET", "POST", "PUT", "DELETE"])]
        )

    # --- the API --------------------------------------------------------------------------

    async def _handle(self, request: Request) -> Response:
        body = await request.body()
        path = request.url.path
        plugin = path.startswith("/chat/") or path.endswith("/invitees.json")
        spec = PLUGIN_SPEC if plugin else self.spec
        data: Any = json.loads(body) if body else {}
        tags = None
        checked_body = body
        if path == "/posts.json" and isinstance(data, dict) and "tags" in data:
            tags = data.pop("tags")
            checked_body = json.dumps(data).encode()
            errors = [
                e.message for e in jsonschema.Draft202012Validator(TAGS_SCHEMA).iter_errors(tags)
            ]
            self.problems.extend(f"POST /posts.json: tags: {e}" for e in errors)
        checked = spec.check(
            request.method,
            path,
            query=request.url.query,
            headers=request.headers,
            body=checked_body,
        )
        if not checked.ok:
            self.problems.extend(checked.problems)
            return JSONResponse({"errors": list(checked.problems)}, 400)
        if request.headers.get("api-key") != self.api_key:
            return _error(
                403, "You are not permitted to view the requested resource.", "invalid_access"
            )
        if request.headers.get("api-username") not in self.users:
            return _error(
                403, "You are not permitted to view the requested resource.", "invalid_access"
            )
        wait = self.limit.admit()
        if wait is not None:
            seconds = max(1, int(wait + 0.999))
            return JSONResponse(
                {
                    "errors": [
                        "You’ve performed this action too many times. "
                        f"Please wait {seconds} seconds before trying again."
                    ],
                    "error_type": "rate_limit",
                    "extras": {"wait_seconds": seconds, "time_left": f"{seconds} seconds"},
                },
                429,
                headers={"Retry-After": str(seconds)},
            )
        op = checked.operation_id or ""
        self.calls[op] += 1
        self._query = dict(request.query_params)
        handler = getattr(self, f"_op_{op}", None)
        if handler is None:
            return _error(404, "The requested URL or resource could not be found.", "not_found")
        if tags is not None:
            data["tags"] = [t["name"] for t in tags]
        result: Response = handler(checked.path_params, data, request.headers["api-username"])
        if result.status_code < 300 and op in ANSWERS_CHECKED:
            answer = json.loads(result.body)
            assert checked.template is not None
            self.problems.extend(
                f"the fake's answer: {p}"
                for p in spec.check_response(request.method, checked.template, 200, answer)
            )
        return result

    def _op_createTopicPostPM(
        self, _: dict[str, Any], data: dict[str, Any], actor: str
    ) -> Response:
        raw = data["raw"]
        if "topic_id" in data:
            topic = self.topics.get(data["topic_id"])
            if topic is None or not self._can_see(topic, actor):
                return _error(404, "The requested URL or resource could not be found.", "not_found")
            if len(raw.strip()) < self.min_post_length:
                return _invalid(f"Body is too short (minimum is {self.min_post_length} characters)")
            return JSONResponse(self._created(self._add_post(topic, actor, raw)))
        title = data.get("title", "")
        if len(title) < self.min_title_length:
            return _invalid(f"Title is too short (minimum is {self.min_title_length} characters)")
        if len(raw.strip()) < self.min_post_length:
            return _invalid(f"Body is too short (minimum is {self.min_post_length} characters)")
        external = data.get("external_id")
        if external is not None and any(t.external_id == external for t in self.topics.values()):
            return _invalid("External ID has already been taken")
        if data.get("archetype") == "private_message":
            recipients = [r for r in data.get("target_recipients", "").split(",") if r]
            unknown = [r for r in recipients if r not in self.users]
            if not recipients or unknown:
                return _invalid(
                    f"Sorry, you can't send a message to {', '.join(unknown) or 'nobody'}."
                )
            topic = Topic(next(self._ids), title, None, "private_message", {actor, *recipients})
        else:
            category = data.get("category")
            if category not in self.categories:
                return _invalid("Category can't be blank")
            if any(t.title.lower() == title.lower() for t in self.topics.values()):
                return _invalid("Title has already been used")
            topic = Topic(next(self._ids), title, category, "regular")
            topic.tags = list(data.get("tags", []))
        topic.external_id = external
        self.topics[topic.id] = topic
        return JSONResponse(self._created(self._add_post(topic, actor, raw)))

    def _created(self, post: Post) -> dict[str, Any]:
        """A new post as `POST /posts.json` answers it (no `category_id` there)."""
        body = self._post_json(post)
        body.pop("category_id", None)
        return body

    def _op_updatePost(self, params: dict[str, Any], data: dict[str, Any], actor: str) -> Response:
        post = self.posts.get(int(params["id"]))
        if post is None or post.username != actor:
            return _error(404, "The requested URL or resource could not be found.", "not_found")
        raw = data["post"]["raw"]
        if len(raw.strip()) < self.min_post_length:
            return _invalid(f"Body is too short (minimum is {self.min_post_length} characters)")
        post.raw, post.version = raw, post.version + 1
        return JSONResponse({"post": self._created(post)})

    def _op_getPost(self, params: dict[str, Any], data: dict[str, Any], actor: str) -> Response:
        post = self.posts.get(int(params["id"]))
        if post is None:
            return _error(404, "The requested URL or resource could not be found.", "not_found")
        return JSONResponse(self._post_json(post))

    def _topic_json(self, topic: Topic) -> dict[str, Any]:
        return {
            "id": topic.id,
            "title": topic.title,
            "archetype": topic.archetype,
            "category_id": topic.category_id,
            "closed": topic.closed,
            "tags": topic.tags,
            "posts_count": len(topic.posts),
            "post_stream": {"posts": [self._post_json(self.posts[p]) for p in topic.posts]},
            "details": {"allowed_users": [{"username": u} for u in sorted(topic.allowed)]},
        }

    def _op_getTopic(self, params: dict[str, Any], data: dict[str, Any], actor: str) -> Response:
        topic = self.topics.get(int(params["id"]))
        if topic is None or not self._can_see(topic, actor):
            return _error(404, "The requested URL or resource could not be found.", "not_found")
        return JSONResponse(self._topic_json(topic))

    def _op_getTopicByExternalId(
        self, params: dict[str, Any], data: dict[str, Any], actor: str
    ) -> Response:
        found = [t for t in self.topics.values() if t.external_id == params["external_id"]]
        if not found:
            return _error(404, "The requested URL or resource could not be found.", "not_found")
        return JSONResponse(self._topic_json(found[0]))

    def _op_inviteToTopic(
        self, params: dict[str, Any], data: dict[str, Any], actor: str
    ) -> Response:
        topic = self.topics.get(int(params["id"]))
        user = data.get("user")
        if topic is None or user not in self.users:
            return _invalid("Sorry, that user couldn't be invited.")
        topic.allowed.add(user)
        return JSONResponse({"user": {"id": self.users[user], "username": user, "name": user}})

    def _op_updateTopicStatus(
        self, params: dict[str, Any], data: dict[str, Any], actor: str
    ) -> Response:
        topic = self.topics.get(int(params["id"]))
        if topic is None:
            return _error(404, "The requested URL or resource could not be found.", "not_found")
        if data["status"] == "closed":
            topic.closed = data["enabled"] == "true"
        return JSONResponse({"success": "OK", "topic_status_update": None})

    def _op_listEvents(self, params: dict[str, Any], data: dict[str, Any], actor: str) -> Response:
        return JSONResponse({"events": self.events})

    def _op_createChatMessage(
        self, params: dict[str, Any], data: dict[str, Any], actor: str
    ) -> Response:
        channel = params["channel_id"]
        if channel not in self.chat_channels:
            return _error(404, "The requested URL or resource could not be found.", "not_found")
        thread = data.get("thread_id")
        if thread is not None and (
            thread not in self.threads or self.threads[thread].channel_id != channel
        ):
            return _invalid("The thread is not valid for this channel.")
        message = ChatMessage(next(self._ids), channel, actor, data["message"], thread)
        self.chat[message.id] = message
        return JSONResponse({"success": "OK", "message_id": message.id})

    def _op_createChatThread(
        self, params: dict[str, Any], data: dict[str, Any], actor: str
    ) -> Response:
        original = self.chat.get(data["original_message_id"])
        if original is None or original.channel_id != params["channel_id"]:
            return _error(404, "The requested URL or resource could not be found.", "not_found")
        return JSONResponse(self._thread_json(self.thread_on(original, data.get("title"))))

    def thread_on(self, original: ChatMessage, title: str | None = None) -> ChatThread:
        """The message's thread, opened if it has none (`Chat::CreateThread` finds one first)."""
        if original.thread_id is None:
            thread = ChatThread(next(self._ids), original.channel_id, original.id, title)
            self.threads[thread.id] = thread
            original.thread_id = thread.id
        return self.threads[original.thread_id]

    def _thread_json(self, thread: ChatThread) -> dict[str, Any]:
        """As `Chat::ThreadSerializer` gives it (with its original message)."""
        original = self.chat[thread.original_message_id]
        user = {"id": self.users[original.username], "username": original.username}
        return {
            "id": thread.id,
            "title": thread.title,
            "status": "open",
            "channel_id": thread.channel_id,
            "meta": {"message_bus_last_ids": {"thread_message_bus_last_id": 0}},
            "reply_count": sum(1 for m in self.chat.values() if m.thread_id == thread.id) - 1,
            "original_message_user": user,
            "original_message": {
                "id": original.id,
                "message": original.message,
                "thread_id": thread.id,
                "user": user,
            },
        }

    def _thread_of(self, params: dict[str, Any]) -> ChatThread | None:
        thread = self.threads.get(params["thread_id"])
        return thread if thread is not None and thread.channel_id == params["channel_id"] else None

    def _op_getChatThread(
        self, params: dict[str, Any], data: dict[str, Any], actor: str
    ) -> Response:
        thread = self._thread_of(params)
        if thread is None:
            return _error(404, "The requested URL or resource could not be found.", "not_found")
        return JSONResponse({"thread": self._thread_json(thread)})

    def _op_updateChatThread(
        self, params: dict[str, Any], data: dict[str, Any], actor: str
    ) -> Response:
        thread = self._thread_of(params)
        if thread is None:
            return _error(404, "The requested URL or resource could not be found.", "not_found")
        if self.chat[thread.original_message_id].username != actor:
            return _error(
                403, "You are not permitted to view the requested resource.", "invalid_access"
            )
        thread.title = data.get("title")
        return JSONResponse({"success": "OK"})

    def _op_listEventInvitees(
        self, params: dict[str, Any], data: dict[str, Any], actor: str
    ) -> Response:
        """A page at most, as the plugin answers: `type` a status, `filter` a part of the name."""
        going = self.going.get(params["post_id"])
        if going is None:
            return _error(404, "The requested URL or resource could not be found.", "not_found")
        query = self._query
        names = sorted(going) if query.get("type") in (None, "going") else []
        part = query.get("filter", "").lower()
        names = [n for n in names if part in n.lower()][: self.invitees_page]
        return JSONResponse(
            {
                "invitees": [
                    {
                        "id": i,
                        "status": "going",
                        "user": {"id": self.users[n], "username": n, "name": None},
                        "post_id": params["post_id"],
                    }
                    for i, n in enumerate(names, start=1)
                ]
            }
        )

    def _op_updateChatMessage(
        self, params: dict[str, Any], data: dict[str, Any], actor: str
    ) -> Response:
        message = self.chat.get(params["message_id"])
        if message is None or message.username != actor:
            return _error(404, "The requested URL or resource could not be found.", "not_found")
        message.message = data["message"]
        return JSONResponse({"success": "OK", "message_id": message.id})

    # --- state ----------------------------------------------------------------------------

    def _can_see(self, topic: Topic, user: str) -> bool:
        return topic.archetype != "private_message" or user in topic.allowed or user == self.bot

    def _add_post(self, topic: Topic, username: str, raw: str) -> Post:
        post = Post(next(self._ids), topic.id, len(topic.posts) + 1, username, raw)
        self.posts[post.id] = post
        topic.posts.append(post.id)
        if topic.archetype == "private_message" and username == self.bot:
            self.pm_counts.update(topic.allowed - {self.bot})
            self.pm_times.append(post.at)
        return post

    def _post_json(self, post: Post) -> dict[str, Any]:
        topic = self.topics[post.topic_id]
        body = payloads.post(
            post_id=post.id,
            topic_id=topic.id,
            username=post.username,
            raw=post.raw,
            category_id=topic.category_id,
            archetype=topic.archetype,
            post_number=post.post_number,
            version=post.version,
            title=topic.title,
            created_at=_stamp(post.written),
        )["post"]
        for key in ("topic_title", "topic_archetype", "category_slug", "topic_posts_count"):
            body.pop(key, None)
        body.pop("topic_filtered_posts_count", None)
        body.update(
            {
                "avatar_template": body["avatar_template"],
                "posts_count": len(topic.posts),
                "readers_count": 0,
                "yours": True,
                "badges_granted": [],
                "can_edit": True,
                "can_delete": True,
                "can_recover": False,
                "can_see_hidden_post": False,
                "can_wiki": False,
                "actions_summary": [],
                "draft_sequence": 0,
                "can_view_edit_history": True,
                "post_url": f"/t/{topic.id}/{post.post_number}",
                "mentioned_users": [],
                "post_localizations": [],
                "flair_url": None,
                "flair_bg_color": None,
                "flair_color": None,
            }
        )
        return body

    def pms_to(self, username: str) -> list[Post]:
        """The bot's posts in PM topics `username` takes part in, oldest first."""
        return [
            self.posts[p]
            for topic in self.topics.values()
            if topic.archetype == "private_message" and username in topic.allowed
            for p in topic.posts
            if self.posts[p].username == self.bot
        ]

    def bot_posts(self, topic_id: int) -> list[Post]:
        return [
            self.posts[p] for p in self.topics[topic_id].posts if self.posts[p].username == self.bot
        ]

    def topics_in(self, category: int) -> list[Topic]:
        return [t for t in self.topics.values() if t.category_id == category]

    # --- members acting, webhooks ---------------------------------------------------------

    def sign(self, body: bytes) -> str:
        return "sha256=" + hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()

    async def deliver(
        self,
        event: str,
        body: dict[str, Any] | bytes,
        *,
        signature: str | None = "",
        event_id: int | None = None,
        retries: int = 4,
    ) -> httpx.Response:
        """POST one webhook as Discourse does; a non-2xx answer is retried (new event id)."""
        assert self.webhook_url is not None, "set webhook_url to the bot's /discourse/webhook"
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        kind = "chat_message" if event.startswith("chat_message") else event.split("_")[0]
        for attempt in range(retries + 1):
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "Discourse/2026.11.0",
                "X-Discourse-Instance": self.base_url,
                "X-Discourse-Event-Id": str(event_id or next(self._event_ids)),
                "X-Discourse-Event-Type": kind,
                "X-Discourse-Event": event,
            }
            if signature is not None:
                headers["X-Discourse-Event-Signature"] = signature or self.sign(raw)
            async with httpx.AsyncClient(timeout=30) as client:
                response = await client.post(self.webhook_url, content=raw, headers=headers)
            if (
                response.status_code < 300
                or response.status_code in (404, 410)
                or attempt == retries
            ):
                return response
            event_id = None
            await asyncio.sleep(0)
        return response

    async def member_posts(
        self, username: str, raw: str, *, topic_id: int | None = None, category: int | None = None
    ) -> Post:
        """A member writes a reply (or a new topic in `category`); the bot hears of it."""
        if topic_id is None:
            assert category is not None
            topic = Topic(next(self._ids), f"{raw[:40]} ({next(self._ids)})", category, "regular")
            self.topics[topic.id] = topic
        else:
            topic = self.topics[topic_id]
            assert self._can_see(topic, username), f"{username} cannot see topic {topic_id}"
        post = self._add_post(topic, username, raw)
        await self._post_event("post_created", post)
        return post

    async def member_messages_bot(
        self, username: str, raw: str, title: str = "A word with you"
    ) -> Post:
        """A member opens a PM to the bot."""
        topic = Topic(next(self._ids), title, None, "private_message", {username, self.bot})
        self.topics[topic.id] = topic
        post = self._add_post(topic, username, raw)
        await self._post_event("post_created", post)
        return post

    async def member_edits(self, post: Post, raw: str) -> None:
        post.raw, post.version, post.written = raw, post.version + 1, datetime.now(UTC)
        await self._post_event("post_edited", post)

    async def _post_event(self, event: str, post: Post) -> httpx.Response:
        body = self._post_json(post)
        topic = self.topics[post.topic_id]
        body.update(
            {
                "topic_title": topic.title,
                "topic_archetype": topic.archetype,
                "topic_posts_count": len(topic.posts),
                "topic_filtered_posts_count": len(topic.posts),
            }
        )
        for key in ("yours", "can_edit", "can_delete", "can_recover", "can_see_hidden_post"):
            body.pop(key, None)
        if topic.category_id is not None:
            body["category_slug"] = "community"
        response = await self.deliver(event, {"post": body})
        assert response.status_code == 200, response.text
        return response

    async def member_posts_event(
        self, username: str, name: str, starts_at: str, ends_at: str, going: list[str]
    ) -> dict[str, Any]:
        """A member posts a topic with a discourse-post-event in it; the plugin lists it, with
        the first few of those `going` as its sample and all of them on its invitees route."""
        for name_going in going:
            self.users.setdefault(name_going, 100 + len(self.users))
        raw = f'[event start="{starts_at}" end="{ends_at}" status="public" name="{name}"]\n[/event]'
        post = await self.member_posts(username, raw, category=5)
        topic = self.topics[post.topic_id]
        event = {
            "id": post.id,
            "category_id": 5,
            "name": name,
            "starts_at": starts_at,
            "ends_at": ends_at,
            "timezone": "UTC",
            "show_local_time": False,
            "can_act_on_discourse_post_event": False,
            "can_update_attendance": True,
            "is_closed": False,
            "is_expired": False,
            "is_ongoing": False,
            "is_private": False,
            "is_public": True,
            "is_standalone": False,
            "should_display_invitees": True,
            "status": "public",
            "at_capacity": False,
            "creator": {"id": self.users[username], "username": username, "avatar_template": ""},
            "post": {
                "id": post.id,
                "post_number": 1,
                "url": f"/t/{topic.id}/1",
                "category_slug": "community",
                "topic": {
                    "id": topic.id,
                    "title": topic.title,
                    "tags": [],
                    "tags_descriptions": {},
                    "slug": "event",
                },
            },
            "occurrences": [{"starts_at": starts_at, "ends_at": ends_at}],
            "sample_invitees": [
                {"id": i, "status": "going", "user": {"id": self.users[u], "username": u}}
                for i, u in enumerate(sorted(going)[:SAMPLE_INVITEES])
            ],
            "stats": {"going": len(going), "interested": 0, "not_going": 0, "invited": len(going)},
        }
        self.events.append(event)
        self.going[post.id] = list(going)
        return event

    async def member_chats(
        self,
        username: str,
        channel: int,
        text: str,
        *,
        thread_id: int | None = None,
        in_reply_to: ChatMessage | None = None,
    ) -> ChatMessage:
        """A member writes in a chat channel or one of its threads; or replies to a message,
        which (as the plugin does in a threaded channel) puts the reply in that message's
        thread, opening it if it has none."""
        if in_reply_to is not None:
            thread_id = self.thread_on(in_reply_to).id
        message = ChatMessage(next(self._ids), channel, username, text, thread_id)
        self.chat[message.id] = message
        body = payloads.chat_message(
            message_id=message.id,
            channel_id=channel,
            username=username,
            text=text,
            thread_id=thread_id,
            in_reply_to=None if in_reply_to is None else in_reply_to.id,
            created_at=_stamp(datetime.now(UTC)),
        )
        response = await self.deliver("chat_message_created", body)
        assert response.status_code == 200, response.text
        return message


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _error(status: int, message: str, kind: str) -> JSONResponse:
    return JSONResponse({"errors": [message], "error_type": kind}, status)


def _invalid(message: str) -> JSONResponse:
    return JSONResponse({"action": "create_post", "errors": [message]}, 422)
