"""Files people upload to billing (a logo, a receipt): what they are is told by their first bytes, never by their name."""

from __future__ import annotations

from app.core.errors import ValidationFailed

SIGNATURES = {b"%PDF-": "application/pdf", b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}


def media_type_of(content: bytes, allowed: tuple[str, ...], *, expected: str, human: str) -> str:
    """The media type of `content` when it is one of `allowed`; anything else is a 422 (`details.reason: file_type`)."""
    for signature, media_type in SIGNATURES.items():
        if content.startswith(signature) and media_type in allowed:
            return media_type
    raise ValidationFailed(
        f"Invalid file: {expected}",
        # `reason`: what a file holds is not something a schema can say.
        details={"field": "file", "expected": expected, "reason": "file_type"},
        human=human,
    )
