"""Content extras without a model: hashtags, per-platform titles, script quality, hook variations."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass

from pipeline.platforms import PlatformPreset
from pipeline.script import WORDS_PER_MINUTE, Script

_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "from",
        "has",
        "have",
        "how",
        "i",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "so",
        "that",
        "the",
        "this",
        "to",
        "was",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
        "we",
        "they",
        "their",
        "them",
        "our",
        "not",
        "just",
        "more",
        "most",
        "than",
        "then",
        "there",
        "these",
        "those",
        "into",
        "about",
        "can",
        "do",
        "does",
        "did",
        "get",
        "got",
        "here",
        "also",
        "very",
        "really",
        "one",
        "two",
        "three",
        "like",
        "all",
        "any",
        "some",
        "no",
        "yes",
        "if",
        "out",
        "up",
        "down",
        "over",
        "under",
        "again",
        "once",
        "stop",
        "never",
        "see",
        "same",
    ]
)
_PLATFORM_TAGS = {"tiktok": ("fyp", "learnontiktok"), "reels": ("reels", "explore"), "shorts": ("shorts",)}
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]+")


def subject_phrase(topic: str) -> str:
    """'How Black Holes Form?' -> 'how black holes form' (for use inside a sentence)."""
    t = topic.strip().rstrip("?!.").strip()
    words = t.split()
    # Keep acronyms and proper-looking words (all caps) as typed; lower the rest.
    return " ".join(w if (w.isupper() and len(w) > 1) else w.lower() for w in words)


def keywords(text: str, limit: int = 6) -> list[str]:
    words = [w.lower().strip("'-") for w in _WORD.findall(text)]
    counts = Counter(w for w in words if w not in _STOP and len(w) > 2)
    return [w for w, _ in counts.most_common(limit)]


def hashtags_for(topic: str, body: str, platform: str | None, limit: int = 8) -> list[str]:
    """Topic words first (they are what people search), then frequent body words, then platform tags."""
    tags: list[str] = []
    topic_words = [w for w in keywords(topic, 4)]
    if len(topic_words) > 1:
        tags.append("".join(topic_words[:3]))
    for w in [*topic_words, *keywords(body, 8)]:
        if w not in tags:
            tags.append(w)
    base = [f"#{t}" for t in tags[: max(1, limit - 2)]]
    extra = [f"#{t}" for t in _PLATFORM_TAGS.get(platform or "", ())]
    return (base + extra)[:limit]


@dataclass(frozen=True)
class PlatformCopy:
    platform: str
    title: str
    description: str
    hashtags: tuple[str, ...]


def platform_copy(script: Script, topic: str, preset: PlatformPreset) -> PlatformCopy:
    """Title and description within each platform's limits (Shorts titles: 100 chars)."""
    tags = tuple(hashtags_for(topic, script.text, preset.name))
    title = script.title.strip() or topic.strip()
    if preset.name == "shorts":
        title = (title[:90] + " #shorts") if "#shorts" not in title else title[:100]
    description = f"{script.description.strip()}\n\n{' '.join(tags)}".strip()
    return PlatformCopy(preset.name, title[:150], description[:2200], tags)


def _syllables(word: str) -> int:
    groups = re.findall(r"[aeiouy]+", word.lower())
    n = len(groups) - (1 if word.lower().endswith("e") and len(groups) > 1 else 0)
    return max(1, n)


@dataclass(frozen=True)
class QualityReport:
    hook_words: int
    hook_seconds: float
    words: int
    words_per_minute: float
    estimated_seconds: float
    limit_seconds: float
    fits_platform: bool
    reading_ease: float
    issues: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def analyze(script: Script, preset: PlatformPreset, words_per_minute: float = WORDS_PER_MINUTE) -> QualityReport:
    """Heuristic checks: a hook that lands in ~3 s, a pace people follow, and a length the platform takes."""
    words = script.text.split()
    sentences = max(1, len(script.sentences()))
    syllables = sum(_syllables(w) for w in words) or 1
    ease = 206.835 - 1.015 * (len(words) / sentences) - 84.6 * (syllables / max(1, len(words)))
    hook_words = len(script.hook.split())
    hook_s = hook_words * 60.0 / words_per_minute
    est = script.estimated_seconds(words_per_minute)
    issues: list[str] = []
    if hook_s > 4.0:
        issues.append(f"hook takes {hook_s:.1f} s; viewers decide in about 3 s")
    if est > preset.max_duration_s:
        issues.append(f"about {est:.0f} s of narration; {preset.label} allows {preset.max_duration_s:.0f} s")
    if ease < 50:
        issues.append(f"reading ease {ease:.0f}: use shorter words and sentences")
    if not script.call_to_action.strip():
        issues.append("no call to action")
    return QualityReport(
        hook_words,
        round(hook_s, 2),
        len(words),
        words_per_minute,
        round(est, 2),
        preset.max_duration_s,
        est <= preset.max_duration_s,
        round(ease, 1),
        tuple(issues),
    )


_HOOK_FORMS = (
    "Ever wondered {q}?",
    "Nobody explains {t} like this.",
    "{T} in 30 seconds.",
    "You have been thinking about {t} all wrong.",
    "The truth about {t} will surprise you.",
)


def hook_variations(topic: str, count: int = 3) -> list[str]:
    """A/B candidates for the opening line, each a different angle (question, promise, contrarian)."""
    t = subject_phrase(topic)
    fill = {
        "t": t,
        "T": t[:1].upper() + t[1:],
        "q": t if t.split()[0] in {"how", "why", "what"} else f"about {t}",
    }
    return [f.format(**fill) for f in _HOOK_FORMS[: max(1, min(count, len(_HOOK_FORMS)))]]
