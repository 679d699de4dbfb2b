"""Webhook bodies as Discourse sends them, for the translation tests and the fake forum.

Shapes follow Discourse's own serializers: `WebHookPostSerializer` (a `PostSerializer` with
`raw`, `topic_title`, `topic_archetype`, `category_slug`, the topic's post counts) under
`post`, and the chat plugin's outgoing webhook (`chat_message` with the message as
`Chat::MessageSerializer` gives it and its channel) as its integration spec checks them.
"""

from __future__ import annotations

from typing import Any


def post(
    *,
    post_id: int,
    topic_id: int,
    username: str,
    raw: str,
    category_id: int | None = 5,
    archetype: str = "regular",
    post_number: int = 2,
    name: str | None = None,
    version: int = 1,
    post_type: int = 1,
    title: str = "Weekly check-in",
    created_at: str = "2026-11-30T09:12:44.012Z",
) -> dict[str, Any]:
    """A `post_created` / `post_edited` body."""
    body: dict[str, Any] = {
        "id": post_id,
        "name": name,
        "username": username,
        "avatar_template": f"/user_avatar/forum.example.org/{username}/{{size}}/3_2.png",
        "created_at": created_at,
        "cooked": f"<p>{raw}</p>",
        "post_number": post_number,
        "post_type": post_type,
        "updated_at": created_at,
        "reply_count": 0,
        "reply_to_post_number": None,
        "quote_count": 0,
        "incoming_link_count": 0,
        "reads": 1,
        "score": 0.2,
        "topic_id": topic_id,
        "topic_slug": "weekly-check-in",
        "topic_title": title,
        "category_id": category_id,
        "display_username": name,
        "primary_group_name": None,
        "flair_name": None,
        "flair_group_id": None,
        "version": version,
        "user_title": None,
        "bookmarked": False,
        "raw": raw,
        "moderator": False,
        "admin": False,
        "staff": False,
        "user_id": 100 + sum(map(ord, username)) % 1000,
        "hidden": False,
        "trust_level": 1,
        "deleted_at": None,
        "user_deleted": False,
        "edit_reason": None,
        "wiki": False,
        "reviewable_id": None,
        "reviewable_score_count": 0,
        "reviewable_score_pending_count": 0,
        "topic_posts_count": post_number,
        "topic_filtered_posts_count": post_number,
        "topic_archetype": archetype,
    }
    if category_id is not None and archetype != "private_message":
        body["category_slug"] = "community"
    return {"post": body}


def chat_message(
    *,
    message_id: int,
    channel_id: int,
    username: str,
    text: str,
    thread_id: int | None = None,
    in_reply_to: int | None = None,
    direct: bool = False,
    name: str | None = None,
    created_at: str = "2026-11-30T09:20:01Z",
) -> dict[str, Any]:
    """A `chat_message_created` / `chat_message_edited` body."""
    user = {
        "id": 100 + sum(map(ord, username)) % 1000,
        "username": username,
        "name": name,
        "avatar_template": f"/user_avatar/forum.example.org/{username}/{{size}}/3_2.png",
        "admin": False,
        "staff": False,
        "moderator": False,
        "new_user": False,
        "primary_group_name": None,
    }
    channel: dict[str, Any] = {
        "id": channel_id,
        "allow_channel_wide_mentions": True,
        "chatable_id": 5 if not direct else 41,
        "chatable_type": "DirectMessage" if direct else "Category",
        "chatable_url": None if direct else "/c/community/5",
        "title": "Community" if not direct else username,
        "slug": None if direct else "community",
        "threading_enabled": True,
    }
    if direct:
        channel["chatable"] = {"users": [{**user, "can_chat": True, "has_chat_enabled": True}]}
    message: dict[str, Any] = {
        "id": message_id,
        "message": text,
        "cooked": f"<p>{text}</p>",
        "created_at": created_at,
        "excerpt": text[:50],
        "chat_channel_id": channel_id,
        "thread_id": thread_id,
        "mentioned_users": [],
        "available_flags": [],
        "user": user,
        "uploads": [],
        "edited": False,
    }
    if in_reply_to is not None:  # `Chat::InReplyToSerializer`
        message["in_reply_to"] = {
            "id": in_reply_to,
            "cooked": "<p>The message replied to</p>",
            "excerpt": "The message replied to",
            "user": {"id": 1, "username": "communitybot", "name": None, "avatar_template": ""},
        }
    return {"chat_message": {"message": message, "channel": channel}}
