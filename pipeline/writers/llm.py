"""A script writer backed by any OpenAI-compatible chat model, in JSON mode, with strict validation."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import openai
from openai.types.chat import ChatCompletionMessageParam

from pipeline.errors import InvalidInputError, ProviderError
from pipeline.openai_errors import PROVIDER, provider_errors
from pipeline.script import Brief, Script

MAX_BEATS = 15
T = TypeVar("T")

SCRIPT_PROMPT = """You write narration scripts for short vertical videos (TikTok, Instagram Reels, YouTube Shorts).
Answer with one JSON object and nothing else. It has exactly these keys:
  "title": string, a catchy title under 70 characters
  "hook": string, one spoken sentence that makes viewers stay past the first 3 seconds
  "beats": array of 1 to 15 strings, the body of the narration, each one or two spoken sentences
  "call_to_action": string, one short spoken sentence
  "description": string, one or two sentences for the post
  "hashtags": array of 3 to 8 strings, each starting with "#"
Write for the ear: plain words, no emoji, no markdown, no stage directions."""

HOOKS_PROMPT = """You write opening hooks for short vertical videos: one spoken sentence each, under 20 words, that
makes a viewer stay past the first 3 seconds. Make each hook use a different angle (question, surprising fact, bold
claim, story). Answer with one JSON object and nothing else: {"hooks": [string, ...]}."""


class MalformedAnswer(ValueError):
    """The model's answer is not the JSON asked for; the message says what is wrong."""


class LLMWriter:
    """Writes a Script from a Brief with a chat model; retries once when the answer is malformed."""

    def __init__(self, client: openai.OpenAI, model: str) -> None:
        self.client = client
        self.model = model

    def write(self, brief: Brief) -> Script:
        words = round(brief.target_seconds * brief.words_per_minute / 60.0)  # at the pace of the voice
        request = (
            f"Topic: {brief.topic}\nAudience: {brief.audience}\nTone: {brief.tone}\n"
            f"Length: about {words} words of narration in total (hook, beats and call to action together), "
            f"about {brief.target_seconds:.0f} seconds when spoken."
        )
        return self._ask(SCRIPT_PROMPT, request, lambda data: parse_script(data, brief.topic))

    def hook_variations(self, topic: str, count: int) -> list[str]:
        """`count` alternative hooks for A/B tests."""
        if not topic.strip():
            raise InvalidInputError("topic", "must not be empty")
        if not 1 <= count <= 10:
            raise InvalidInputError("count", f"{count} is outside 1–10")
        request = f"Topic: {topic.strip()}\nWrite exactly {count} different hooks."
        return self._ask(HOOKS_PROMPT, request, lambda data: parse_hooks(data, count))

    def _ask(self, system: str, request: str, parse: Callable[[Any], T]) -> T:
        messages: list[ChatCompletionMessageParam] = [
            {"role": "system", "content": system},
            {"role": "user", "content": request},
        ]
        content = self._complete(messages)
        try:
            return parse(_json(content))
        except MalformedAnswer as first:
            messages.append({"role": "assistant", "content": content or "(empty)"})
            messages.append(
                {
                    "role": "user",
                    "content": f"That answer was not usable: {first}. Reply again with only the JSON object "
                    "described above, with every key present and of the right type.",
                }
            )
        content = self._complete(messages)
        try:
            return parse(_json(content))
        except MalformedAnswer as second:
            raise ProviderError(
                PROVIDER, "malformed", f"model {self.model!r} gave unusable JSON twice; last problem: {second}"
            ) from None

    def _complete(self, messages: list[ChatCompletionMessageParam]) -> str:
        with provider_errors(self.client):
            response = self.client.chat.completions.create(
                model=self.model, messages=messages, response_format={"type": "json_object"}
            )
        if not response.choices:
            return ""
        choice = response.choices[0]
        if choice.finish_reason == "length":
            return ""  # cut off mid-JSON: treated like an empty answer
        return choice.message.content or ""


def _json(content: str) -> Any:
    if not content.strip():
        raise MalformedAnswer("the answer was empty or cut off")
    try:
        return json.loads(content)
    except json.JSONDecodeError as e:
        raise MalformedAnswer(f"not valid JSON ({e.msg} at line {e.lineno} column {e.colno})") from None


def _text(data: dict[str, Any], key: str, required: bool = False) -> str:
    if key not in data:
        raise MalformedAnswer(f'missing key "{key}"')
    value = data[key]
    if not isinstance(value, str):
        raise MalformedAnswer(f'"{key}" must be a string, got {type(value).__name__}')
    if required and not value.strip():
        raise MalformedAnswer(f'"{key}" must not be empty')
    return value.strip()


def _texts(data: dict[str, Any], key: str) -> list[str]:
    if key not in data:
        raise MalformedAnswer(f'missing key "{key}"')
    value = data[key]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise MalformedAnswer(f'"{key}" must be an array of strings')
    return [v.strip() for v in value if v.strip()]


def normalise_hashtag(tag: str) -> str:
    """'black holes' -> '#blackholes', '##Space' -> '#Space'; empty stays empty."""
    core = "".join(tag.split()).lstrip("#")
    return f"#{core}" if core else ""


def parse_script(data: Any, topic: str) -> Script:
    """A Script from the model's JSON, or MalformedAnswer saying what is wrong."""
    if not isinstance(data, dict):
        raise MalformedAnswer(f"expected a JSON object, got {type(data).__name__}")
    hook = _text(data, "hook", required=True)
    beats = _texts(data, "beats")
    if not 1 <= len(beats) <= MAX_BEATS:
        raise MalformedAnswer(f'"beats" has {len(beats)} non-empty entries; expected 1 to {MAX_BEATS}')
    tags: list[str] = []
    for tag in map(normalise_hashtag, _texts(data, "hashtags")):
        if tag and tag.lower() not in {t.lower() for t in tags}:
            tags.append(tag)
    return Script(
        title=_text(data, "title") or topic.strip(),
        hook=hook,
        beats=tuple(beats),
        call_to_action=_text(data, "call_to_action"),
        description=_text(data, "description"),
        hashtags=tuple(tags),
    )


def parse_hooks(data: Any, count: int) -> list[str]:
    if not isinstance(data, dict):
        raise MalformedAnswer(f"expected a JSON object, got {type(data).__name__}")
    hooks = _texts(data, "hooks")
    if len(hooks) < count:
        raise MalformedAnswer(f'"hooks" has {len(hooks)} non-empty entries; expected {count}')
    return hooks[:count]
