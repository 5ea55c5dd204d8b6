"""Telephony secrets at rest: a provider's password and webhook secret are encrypted with Fernet (AES-128-CBC and
HMAC-SHA256, from `cryptography`) under a key derived from the installation's SECRET_KEY; they are never returned."""

from __future__ import annotations

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, InvalidToken

from app.settings import current


@cache
def _box(secret_key: str) -> Fernet:
    # A key of its own for this purpose (HKDF-like domain separation), so no other use of SECRET_KEY can decrypt it.
    key = hashlib.sha256(b"atrium telephony secrets\x00" + secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(plain: str) -> str:
    """`plain` encrypted (empty stays empty)."""
    return _box(current().secret_key).encrypt(plain.encode()).decode() if plain else ""


def decrypt(token: str) -> str:
    """The plain text of `encrypt(...)`; empty when there is none or the key changed (the secret must be set again)."""
    if not token:
        return ""
    try:
        return _box(current().secret_key).decrypt(token.encode()).decode()
    except InvalidToken:
        return ""
