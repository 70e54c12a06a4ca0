"""Domain errors: each carries the data a user needs and inherits the matching builtin."""

from __future__ import annotations


class ReelError(Exception):
    """Base of every error the pipeline raises on purpose.

    Subclasses take their data as constructor arguments and record them in `_init`, so they survive pickling
    (Ray sends a worker's exception back to the caller pickled).
    """

    _init: tuple[object, ...] = ()

    def __reduce__(self) -> tuple[type, tuple[object, ...]]:
        return (type(self), self._init or self.args)


class InvalidMediaError(ReelError, ValueError):
    """A media file that cannot be read: missing, empty, corrupt, or without the needed stream."""

    def __init__(self, path: str, reason: str) -> None:
        self._init = (
            path,
            reason,
        )
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class InvalidInputError(ReelError, ValueError):
    """A user-controlled value that is wrong; `field` names it."""

    def __init__(self, field: str, reason: str) -> None:
        self._init = (
            field,
            reason,
        )
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class ScriptTooLongError(ReelError, ValueError):
    """The narration would run past the platform's maximum duration."""

    def __init__(self, platform: str, seconds: float, limit: float, words: int) -> None:
        self._init = (
            platform,
            seconds,
            limit,
            words,
        )
        self.platform = platform
        self.seconds = seconds
        self.limit = limit
        self.words = words
        super().__init__(
            f"script too long for {platform}: {words} words ≈ {seconds:.1f} s of narration, the limit is {limit:.0f} s"
        )


class MissingToolError(ReelError, RuntimeError):
    """A program or package the chosen option needs is not installed."""

    def __init__(self, tool: str, hint: str) -> None:
        self._init = (
            tool,
            hint,
        )
        self.tool = tool
        self.hint = hint
        super().__init__(f"{tool} is not installed; {hint}")


class ProviderError(ReelError, RuntimeError):
    """A remote model provider failed; `kind` is auth, network, quota, malformed or other."""

    def __init__(self, provider: str, kind: str, message: str) -> None:
        self._init = (
            provider,
            kind,
            message,
        )
        self.provider = provider
        self.kind = kind
        super().__init__(f"{provider} {kind} error: {message}")


class RenderCancelled(ReelError):
    """The progress callback asked the render to stop."""
