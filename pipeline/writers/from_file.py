"""The user's own script from a text file: first sentence is the hook, a last line starting with CTA: the call."""

from __future__ import annotations

import re
from pathlib import Path

from pipeline.content import hashtags_for
from pipeline.errors import InvalidInputError, InvalidMediaError
from pipeline.script import Brief, Script

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


class FileScriptWriter:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def write(self, brief: Brief) -> Script:
        try:
            text = self.path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise InvalidMediaError(str(self.path), "no such file") from None
        except (OSError, UnicodeDecodeError) as e:
            raise InvalidMediaError(str(self.path), f"cannot read the script as UTF-8 text ({e})") from None
        lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
        if not lines:
            raise InvalidInputError("--script", f"{self.path} holds no text")
        cta = ""
        if lines[-1].upper().startswith("CTA:"):
            cta = lines.pop()[4:].strip()
        sentences = [s for s in _SENTENCE_END.split(" ".join(lines)) if s.strip()]
        if not sentences:
            raise InvalidInputError("--script", f"{self.path} holds no sentences")
        body = " ".join(sentences)
        return Script(
            title=brief.topic.strip(),
            hook=sentences[0],
            beats=tuple(sentences[1:]),
            call_to_action=cta,
            description=sentences[0],
            hashtags=tuple(hashtags_for(brief.topic, body, platform=None)),
        )
