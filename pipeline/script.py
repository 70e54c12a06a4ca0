"""The narration script and the brief it is written from."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from pipeline import limits
from pipeline.errors import InvalidInputError

# Plain speech in short-form video runs near 150 words a minute; espeak-ng's default is about 170.
WORDS_PER_MINUTE = 160.0

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


@dataclass(frozen=True)
class Brief:
    """What the viewer should get: the input to a script writer."""

    topic: str
    audience: str = "curious viewers"
    tone: str = "energetic"
    target_seconds: float = 30.0
    words_per_minute: float = WORDS_PER_MINUTE  # the narrator's pace the length is planned for

    def __post_init__(self) -> None:
        if not self.topic.strip():
            raise InvalidInputError("topic", "must not be empty")
        if len(self.topic) > limits.TOPIC_CHARS:
            raise InvalidInputError("topic", f"{len(self.topic)} characters; at most {limits.TOPIC_CHARS}")
        limits.check_text("topic", self.topic)
        for name, most in (("audience", limits.AUDIENCE_CHARS), ("tone", limits.TONE_CHARS)):
            value = getattr(self, name)
            if len(value) > most:
                raise InvalidInputError(name, f"{len(value)} characters; at most {most}")
            limits.check_text(name, value)
        limits.REEL_SECONDS.check("target_seconds", self.target_seconds)
        if not 60.0 <= self.words_per_minute <= 600.0:
            raise InvalidInputError("words_per_minute", f"{self.words_per_minute} is outside 60–600")


@dataclass(frozen=True)
class Script:
    title: str
    hook: str
    beats: tuple[str, ...]
    call_to_action: str = ""
    description: str = ""
    hashtags: tuple[str, ...] = field(default_factory=tuple)

    def narration_parts(self) -> list[str]:
        return [p for p in (self.hook, *self.beats, self.call_to_action) if p.strip()]

    def sentences(self) -> list[str]:
        """Narration split into sentences: the unit speech is synthesised in."""
        out: list[str] = []
        for part in self.narration_parts():
            out.extend(s.strip() for s in _SENTENCE_END.split(part.strip()) if s.strip())
        return out

    @property
    def text(self) -> str:
        return " ".join(self.narration_parts())

    @property
    def word_count(self) -> int:
        return len(self.text.split())

    def estimated_seconds(self, words_per_minute: float = WORDS_PER_MINUTE) -> float:
        # Sentence ends add a short pause each.
        return self.word_count * 60.0 / words_per_minute + 0.25 * len(self.sentences())

    def to_dict(self) -> dict[str, object]:
        return {
            "title": self.title,
            "hook": self.hook,
            "beats": list(self.beats),
            "call_to_action": self.call_to_action,
            "description": self.description,
            "hashtags": list(self.hashtags),
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Script:
        """The inverse of to_dict (a content stage's output, a stored script artifact)."""
        return cls(
            raw["title"],
            raw["hook"],
            tuple(raw.get("beats", ())),
            raw.get("call_to_action", ""),
            raw.get("description", ""),
            tuple(raw.get("hashtags", ())),
        )


class ScriptWriter(Protocol):
    """Anything that turns a brief into a script."""

    def write(self, brief: Brief) -> Script: ...
