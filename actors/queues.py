"""Queues are Ray custom resources: a node advertising `queue_video: 2` runs at most two video stages at once."""

from __future__ import annotations

QUEUES: tuple[str, ...] = ("content", "speech", "video", "gpu", "social")

# What a local start advertises on this machine; REELS_QUEUE_SLOTS overrides (e.g. "video=4,gpu=1").
DEFAULT_SLOTS: dict[str, int] = {"content": 4, "speech": 2, "video": 2, "gpu": 0, "social": 2}


def resource(queue: str) -> str:
    return f"queue_{queue}"


def parse_slots(text: str) -> dict[str, int]:
    """'video=4,gpu=1' -> {'video': 4, 'gpu': 1}; names and counts are checked."""
    out: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, count = part.partition("=")
        if name not in QUEUES:
            raise ValueError(f"unknown queue {name!r} (choose from {', '.join(QUEUES)})")
        if not count.isdigit():
            raise ValueError(f"{part!r}: the slot count must be a whole number")
        out[name] = int(count)
    return out
