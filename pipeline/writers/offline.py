"""A script writer that needs no model: varied, topic-aware templates chosen by a seeded draw."""

from __future__ import annotations

import hashlib
import random

from pipeline.content import hashtags_for, subject_phrase
from pipeline.script import Brief, Script

_WH = ("how", "why", "what", "when", "where", "who")

# {q}: the topic as an embedded question ("how black holes form"); {t}: as a subject ("black holes form").
_QUESTION_HOOKS = (
    "Ever wondered {q}? Give me thirty seconds and you will never see it the same way.",
    "Here is {q}, explained faster than you can make coffee.",
    "Stop scrolling: this is the simplest way to understand {q}.",
    "Most {aud} have never heard the real story of {q}.",
)
_TOPIC_HOOKS = (
    "Most {aud} get {t} completely wrong. Here is what actually happens.",
    "{T}, explained faster than you can make coffee.",
    "Here is the thing nobody tells you about {t}.",
    "Three facts about {t} that sound made up but are not.",
    "Stop scrolling: this is the simplest way to understand {t}.",
)
_OPENERS = (
    "It starts with one simple idea.",
    "First, forget what the movies told you.",
    "Picture it step by step.",
    "Begin with the basics.",
)
_BEATS = (
    "At its core, it is about cause and effect that builds over time.",
    "The first step is small, almost invisible, and easy to overlook.",
    "Then something tips the balance, and the process speeds up on its own.",
    "That is the moment where most explanations stop, but the best part comes next.",
    "Scientists checked this again and again, and the numbers keep agreeing.",
    "The surprising part is how ordinary the ingredients are.",
    "Scale it up, and the same rule shapes things far bigger than us.",
    "Every stage leaves a clue behind, which is how we know any of this.",
    "Small changes early on decide how the whole story ends.",
    "Once you see the pattern, you start spotting it everywhere.",
    "It is not magic; it is a chain of steps that each make sense on their own.",
    "Experts still argue about the details, and that is what makes it exciting.",
)
_TONE_LINES = {
    "energetic": "And honestly, that is wild.",
    "calm": "Take a breath and let that sink in.",
    "funny": "Which is more drama than my group chat.",
    "serious": "The implications are bigger than they first appear.",
}
_CTAS = (
    "Follow for more explainers like this in under a minute.",
    "Save this for later and share it with someone who would love it.",
    "Comment what you want explained next.",
    "Follow, because part two goes even deeper.",
)


def _seconds(part: str, words_per_minute: float) -> float:
    """A part's share of Script.estimated_seconds()."""
    return Script("", part, ()).estimated_seconds(words_per_minute)


class OfflineWriter:
    """Builds a sensible script from topic, audience and tone; the same brief gives the same script."""

    def write(self, brief: Brief) -> Script:
        seed = int.from_bytes(hashlib.sha256(repr(brief).encode()).digest()[:8], "big")
        rng = random.Random(seed)
        t = subject_phrase(brief.topic)
        question = t.split()[0] in _WH
        subject = " ".join(t.split()[1:]) if question and len(t.split()) > 1 else t
        fill = {"q": t, "t": subject, "T": subject[:1].upper() + subject[1:], "aud": brief.audience}
        hook = rng.choice(_QUESTION_HOOKS if question else _TOPIC_HOOKS).format(**fill)
        opener = rng.choice(_OPENERS)
        pool = [b.format(**fill) for b in rng.sample(_BEATS, len(_BEATS))]
        tone_line = _TONE_LINES.get(brief.tone.lower())
        cta = rng.choice(_CTAS)
        # Sentences are added while the narration's estimate stays within the target: the hook always; a call to
        # action from 15 s up; then the beats, an opener first (a short reel is the hook and what fits after it).
        wpm = brief.words_per_minute
        budget = brief.target_seconds - _seconds(hook, wpm)
        if brief.target_seconds >= 15:
            budget -= _seconds(cta, wpm)
        else:
            cta = ""
        beats: list[str] = []
        shortest = min(_seconds(b, wpm) for b in pool)
        for sentence in [opener, *pool] if budget >= _seconds(opener, wpm) + shortest else pool:
            if _seconds(sentence, wpm) > budget:
                continue
            beats.append(sentence)
            budget -= _seconds(sentence, wpm)
        if tone_line and beats and _seconds(tone_line, wpm) <= budget:
            beats.insert(len(beats) // 2 + 1, tone_line)
        title = brief.topic.strip().rstrip("?.!")
        title = title[:1].upper() + title[1:]
        title = title if len(title) <= 60 else title[:57] + "..."
        description = f"{title}: a quick explainer for {brief.audience}."
        body = " ".join([hook, *beats, cta])
        return Script(
            title=title,
            hook=hook,
            beats=tuple(beats),
            call_to_action=cta,
            description=description,
            hashtags=tuple(hashtags_for(brief.topic, body, platform=None)),
        )
