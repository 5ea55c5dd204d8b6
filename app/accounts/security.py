"""Password and secret hashing (argon2id), opaque tokens and JWTs."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import anyio
import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.core.errors import RateLimited

# argon2-cffi's default profile (RFC 9106 low-memory: t=3, m=64 MiB, p=4) exceeds OWASP's
# minimum (m=19 MiB, t=2, p=1). Hashes made with other parameters are upgraded at login.
PRODUCTION_HASHER = PasswordHasher()
HASHER = PRODUCTION_HASHER


def use_hasher(hasher: PasswordHasher) -> None:
    """Hash with other argon2 parameters in this process (the test suite's cheap ones; never in production)."""
    global HASHER
    HASHER = hasher
    dummy_hash.cache_clear()


API_KEY_PREFIXES = ("atr_live_", "atr_test_")
_LOOKUP_LEN = 12


# argon2 takes tens of milliseconds of CPU: run it in threads, at most two at a time (the machine's
# cores), so hashing never stalls the event loop that serves other requests and the worker.
_HASHING = anyio.CapacityLimiter(2)


async def hash_secret_async(secret: str) -> str:
    """`hash_secret` off the event loop."""
    return await anyio.to_thread.run_sync(hash_secret, secret, limiter=_HASHING)


async def verify_secret_async(stored_hash: str, secret: str) -> bool:
    """`verify_secret` off the event loop."""
    return await anyio.to_thread.run_sync(verify_secret, stored_hash, secret, limiter=_HASHING)


# The hashing budget of logins. A login after recent failures (of its account, or of its address) is a
# suspect: suspects get one thread of their own and a short waiting line; past it they are told to retry
# at once (429) rather than queue for seconds. Everyone else keeps the normal lane, so a password-guessing
# flood slows only itself.
_SUSPECTS = anyio.CapacityLimiter(1)
SUSPECT_QUEUE = 8
_suspects_waiting = 0


async def verify_password_async(stored_hash: str, password: str, *, suspect: bool) -> bool:
    """Check a login's password in the lane its history puts it in (see above)."""
    global _suspects_waiting
    if not suspect:
        return await verify_secret_async(stored_hash, password)
    if _suspects_waiting >= SUSPECT_QUEUE:
        raise RateLimited("Too many login attempts are being checked; try again in a moment", retry_after=2)
    _suspects_waiting += 1
    try:
        return await anyio.to_thread.run_sync(verify_secret, stored_hash, password, limiter=_SUSPECTS)
    finally:
        _suspects_waiting -= 1


def hash_secret(secret: str) -> str:
    """An argon2id hash of a password or a generated secret."""
    return HASHER.hash(secret)


def verify_secret(stored_hash: str, secret: str) -> bool:
    """Whether `secret` matches `stored_hash` (constant time inside argon2)."""
    try:
        return HASHER.verify(stored_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """Whether the hash was made with other parameters than the current ones."""
    try:
        return HASHER.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


@lru_cache(maxsize=1)
def dummy_hash() -> str:  # computed once per process, at the first unknown-account login
    """A hash to verify against when the account does not exist, so timing does not tell."""
    return HASHER.hash(secrets.token_urlsafe(16))


def new_token(nbytes: int = 32) -> str:
    """A URL-safe random token (session cookies, client secrets)."""
    return secrets.token_urlsafe(nbytes)


def sha256_hex(value: str) -> str:
    """Hex SHA-256, for looking up high-entropy tokens without storing them."""
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class GeneratedApiKey:
    """A freshly generated key: `plaintext` is shown once, `prefix` identifies it afterwards."""

    plaintext: str
    prefix: str


def generate_api_key(mode: str) -> GeneratedApiKey:
    """A new `atr_live_…`/`atr_test_…` key: a lookup part stored in clear plus a secret part."""
    alphabet = "abcdefghijkmnopqrstuvwxyz23456789"
    lookup = "".join(secrets.choice(alphabet) for _ in range(_LOOKUP_LEN))
    plaintext = f"atr_{mode}_{lookup}{secrets.token_urlsafe(30)}"
    return GeneratedApiKey(plaintext=plaintext, prefix=api_key_prefix(plaintext) or "")


def api_key_prefix(plaintext: str) -> str | None:
    """The stored lookup prefix of a presented key, or None when it is not an Atrium key."""
    if not plaintext.startswith(API_KEY_PREFIXES):
        return None
    prefix = plaintext[: len("atr_live_") + _LOOKUP_LEN]
    return prefix if len(plaintext) > len(prefix) + 20 else None


# Verified keys, so argon2 runs once per key per process, not per request. Safe because the
# stored hash of a key never changes; revocation is still read from the database every time.
_verified_keys: dict[str, int] = {}


async def verify_api_key(key_id: int, stored_hash: str, plaintext: str) -> bool:
    """Verify a presented API key against its stored hash, remembering successes."""
    fingerprint = sha256_hex(plaintext)
    if _verified_keys.get(fingerprint) == key_id:
        return True
    if not await verify_secret_async(stored_hash, plaintext):
        return False
    if len(_verified_keys) > 10_000:
        _verified_keys.clear()
    _verified_keys[fingerprint] = key_id
    return True


class TokenError(Exception):
    """A JWT is malformed, expired, or of the wrong type."""


def issue_jwt(secret_key: str, *, claims: dict[str, Any], token_type: str, ttl: int) -> tuple[str, str, int]:
    """Sign a JWT; returns (token, jti, expiry as epoch seconds)."""
    now = int(time.time())
    jti = uuid.uuid4().hex
    payload = {**claims, "typ": token_type, "jti": jti, "iat": now, "nbf": now, "exp": now + ttl, "iss": "atrium"}
    return jwt.encode(payload, secret_key, algorithm="HS256"), jti, now + ttl


def decode_jwt(secret_key: str, token: str, token_type: str) -> dict[str, Any]:
    """Verify signature, expiry and type of a JWT and return its claims."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token, secret_key, algorithms=["HS256"], issuer="atrium", options={"require": ["exp", "jti", "typ"]}
        )
    except jwt.PyJWTError as exc:
        raise TokenError(str(exc)) from None
    if claims.get("typ") != token_type:
        raise TokenError(f"expected a {token_type} token")
    return claims
