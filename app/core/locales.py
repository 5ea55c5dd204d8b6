"""The languages and formats a person may choose for their screens (dates and numbers through Babel's CLDR data),
and which of them are written right to left."""

from __future__ import annotations

from app.core.errors import ValidationFailed

# Locale tag → its name in its own language (the choice a person sees). The templates' words stay English.
LOCALES = {
    "en": "English",
    "en_GB": "English (United Kingdom)",
    "ar": "العربية",
    "ar_AE": "العربية (الإمارات)",
    "de": "Deutsch",
    "es": "Español",
    "fa": "فارسی",
    "fr": "Français",
    "he": "עברית",
    "hi": "हिन्दी",
    "it": "Italiano",
    "nl": "Nederlands",
    "pt": "Português",
    "ru": "Русский",
    "tr": "Türkçe",
    "ur": "اردو",
    "zh": "中文",
}
# Languages written right to left: their pages are laid out from the right (`<html dir="rtl">`).
RTL_LANGUAGES = frozenset({"ar", "he", "fa", "ur"})


def is_rtl(locale: str) -> bool:
    """Whether `locale` (`ar`, `ar_AE`, `he-IL`…) is written right to left."""
    return locale.replace("-", "_").split("_")[0].lower() in RTL_LANGUAGES


def checked_locale(tag: str) -> str:
    """`tag` when it is a locale on offer, else a ValidationFailed for the `locale` field."""
    if tag not in LOCALES:
        raise ValidationFailed(
            f"Unknown locale: {tag[:20]}",
            details={"field": "locale", "provided": tag[:20], "expected": f"one of: {', '.join(LOCALES)}"},
            human="Choose a language from the list",
        )
    return tag
