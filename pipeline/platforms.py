"""Platform presets: frame size, fps, bitrate caps, duration limits and the caption safe zone."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal, get_args

from pipeline.errors import InvalidInputError
from pipeline.limits import check_size


@dataclass(frozen=True)
class SafeZone:
    """Margins (fractions of the frame) that the platform's own UI covers."""

    top: float
    bottom: float
    left: float
    right: float


@dataclass(frozen=True)
class PlatformPreset:
    name: str
    label: str
    width: int
    height: int
    fps: int
    max_video_kbps: int
    audio_kbps: int
    max_duration_s: float
    safe_zone: SafeZone
    loudness_lufs: float = -14.0
    true_peak_db: float = -1.0

    def at_size(self, width: int, height: int) -> PlatformPreset:
        """The same preset at another frame size (tests and previews render small)."""
        check_size("size", width, height)
        return replace(self, width=width, height=height)


PlatformName = Literal["tiktok", "reels", "shorts", "4k"]

# Safe zones follow the platforms' published overlay guides (caption/buttons areas), rounded up.
PRESETS: dict[str, PlatformPreset] = {
    "tiktok": PlatformPreset("tiktok", "TikTok", 1080, 1920, 30, 8000, 192, 600.0, SafeZone(0.07, 0.20, 0.06, 0.12)),
    "reels": PlatformPreset(
        "reels", "Instagram Reels", 1080, 1920, 30, 8000, 192, 180.0, SafeZone(0.12, 0.22, 0.06, 0.10)
    ),
    "shorts": PlatformPreset(
        "shorts", "YouTube Shorts", 1080, 1920, 30, 10000, 192, 180.0, SafeZone(0.10, 0.20, 0.06, 0.12)
    ),
    "4k": PlatformPreset(
        "4k", "Vertical 4K master", 2160, 3840, 30, 40000, 256, 180.0, SafeZone(0.10, 0.20, 0.06, 0.12)
    ),
}

assert tuple(PRESETS) == get_args(PlatformName), "PlatformName lists the presets"
# The platforms a reel is published to (the 4K master is an export, not a platform of its own).
SOCIAL_PLATFORMS = tuple(name for name in PRESETS if name != "4k")


def get_preset(name: str) -> PlatformPreset:
    try:
        return PRESETS[name.lower()]
    except KeyError:
        raise InvalidInputError("platform", f"unknown platform {name!r} (choose from {', '.join(PRESETS)})") from None


def parse_size(text: str) -> tuple[int, int]:
    """'270x480' -> (270, 480), within the output limits."""
    try:
        w, h = (int(p) for p in text.lower().split("x"))
    except ValueError:
        raise InvalidInputError("size", f"{text!r} is not WIDTHxHEIGHT, e.g. 270x480") from None
    check_size("size", w, h)
    return w, h
