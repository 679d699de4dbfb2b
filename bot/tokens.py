"""One-time tokens (sign-in, download and link codes) are kept only as their hash, so a copy
of the database opens nothing; this is the hash every one of them is kept and looked up by."""

from __future__ import annotations

import hashlib


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
