"""Sentiment of customers' words with VADER (a lexicon and rules, computed locally and explainably), and the urgency
hint and next step the support desk reads from it."""

from __future__ import annotations

import re
from functools import cache

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from app.support.schemas import Sentiment

# VADER's own thresholds for its compound score.
POSITIVE, NEGATIVE = 0.05, -0.05
# A compound score this low is an upset customer: urgent whatever the words.
ANGRY = -0.5
# Words that make a message urgent even when its tone is calm.
URGENT_WORDS = ("urgent", "urgently", "asap", "immediately", "emergency", "outage", "down", "cannot access", "can't access",
                "locked out", "data loss", "lawyer", "legal", "cancel", "refund", "security breach")  # fmt: skip
# What support messages are about: shown among the key phrases when they occur.
TOPICS = ("response time", "customer service", "login", "password", "invoice", "billing", "payment", "refund",
          "dashboard", "update", "bug", "error", "crash", "slow", "delivery", "contract", "viewing", "booking")  # fmt: skip
_WORD = re.compile(r"[a-z][a-z'-]*")


@cache
def _analyzer() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def _found(text: str, phrases: tuple[str, ...]) -> list[str]:
    return [p for p in phrases if re.search(rf"(?<![a-z]){re.escape(p)}(?![a-z])", text)]


def analyze(text: str, context: str = "general") -> Sentiment:
    """VADER's compound score labelled with its thresholds; confidence grows with the score's strength (a neutral
    text: the neutral share of its words); key phrases are the words that carried the tone (VADER's lexicon, |valence|
    of at least 1) then the topics and urgent words found; urgency is high for an angry text (compound ≤ -0.5) or an
    urgent word with a negative tone, medium for other negative or urgent texts."""
    analyzer = _analyzer()
    scores = analyzer.polarity_scores(text)
    compound = float(scores["compound"])
    lowered = text.lower()
    label = "positive" if compound >= POSITIVE else "negative" if compound <= NEGATIVE else "neutral"
    confidence = float(scores["neu"]) if label == "neutral" else min(1.0, 0.5 + abs(compound) / 2 + 0.1 * max(scores["neg"], scores["pos"]))
    carried: list[str] = []
    for word in _WORD.findall(lowered):
        valence = analyzer.lexicon.get(word)
        if valence is not None and abs(valence) >= 1.0 and word not in carried:
            carried.append(word)
    urgent = _found(lowered, URGENT_WORDS)
    phrases = carried + [p for p in _found(lowered, TOPICS) + urgent if p not in carried]
    if compound <= ANGRY or (urgent and label == "negative"):
        urgency = "high"
    elif label == "negative" or urgent:
        urgency = "medium"
    else:
        urgency = "low"
    return Sentiment(
        sentiment=label,  # type: ignore[arg-type]
        confidence=round(confidence, 2),
        score=round(compound, 2),
        key_phrases=phrases[:10],
        urgency=urgency,  # type: ignore[arg-type]
        suggested_action=_action(label, urgency, context),
    )


def _action(label: str, urgency: str, context: str) -> str:
    if urgency == "high":
        return "Escalate to senior support agent" if context in ("support_ticket", "general", "email", "chat") else "Escalate to a manager"
    if label == "negative" or urgency == "medium":
        return "Reply promptly, acknowledge the problem and give a time for the fix"
    if label == "positive":
        return "Thank the customer; close the ticket when they confirm"
    return "Answer in queue order"
