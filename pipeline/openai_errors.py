"""The one mapping from `openai` client exceptions to ProviderError, shared by every OpenAI-compatible provider."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import openai

from pipeline.errors import ProviderError

PROVIDER = "openai"


def provider_error(e: openai.OpenAIError, base_url: str) -> ProviderError:
    """A ProviderError whose kind says what to fix: auth, network, quota or other."""
    if isinstance(e, openai.AuthenticationError | openai.PermissionDeniedError):
        return ProviderError(
            PROVIDER,
            "auth",
            f"{base_url} refused the request (HTTP {e.status_code}: {_detail(e)}); check OPENAI_API_KEY",
        )
    if isinstance(e, openai.APITimeoutError):
        return ProviderError(PROVIDER, "network", f"{base_url} did not answer in time (request timed out)")
    if isinstance(e, openai.APIConnectionError):
        cause = f": {e.__cause__}" if e.__cause__ else ""
        return ProviderError(PROVIDER, "network", f"cannot reach {base_url}{cause}; check OPENAI_BASE_URL")
    if isinstance(e, openai.RateLimitError):
        if e.code == "insufficient_quota":
            why = "the account has no quota left (insufficient_quota); check the plan and billing"
        else:
            why = "rate limited (too many requests); wait a moment and try again"
        return ProviderError(PROVIDER, "quota", f"{base_url}: {why} ({_detail(e)})")
    if isinstance(e, openai.APIStatusError):
        return ProviderError(PROVIDER, "other", f"{base_url} answered HTTP {e.status_code}: {_detail(e)}")
    return ProviderError(PROVIDER, "other", f"{base_url}: {type(e).__name__}: {e}")


@contextmanager
def provider_errors(client: openai.OpenAI) -> Iterator[None]:
    """Re-raise the client's exceptions inside the block as ProviderError (naming the client's base URL)."""
    try:
        yield
    except openai.OpenAIError as e:
        raise provider_error(e, str(client.base_url).rstrip("/")) from e


def _detail(e: openai.APIStatusError) -> str:
    """The server's own error message when it sent one, else the client's summary."""
    body = e.body
    if isinstance(body, dict) and isinstance(body.get("message"), str) and body["message"]:
        return str(body["message"])[:300]
    return e.message[:300]
