"""The bounds of every number and choice a user can set, defined once. The CLI, the API's request schemas, task
parameters and RenderPlan.validate all check against these, so a value refused in one place is refused in all,
with the same message: the field and the limit."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from pipeline.errors import InvalidInputError


@dataclass(frozen=True)
class Bound:
    lo: float
    hi: float
    unit: str = ""
    integer: bool = False

    def check(self, field: str, value: float, what: str = "") -> None:
        """InvalidInputError naming `field` and the bound when `value` is outside it (NaN and infinities too);
        `what` names the value in the message ("width", "layers") when the field alone does not."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidInputError(field, f"expected a number, got {value!r}")
        if self.integer and not float(value).is_integer():
            raise InvalidInputError(field, f"{value!r} is not a whole number")
        if not (math.isfinite(value) and self.lo <= value <= self.hi):
            said = f"{what} {value:g}{self.unit}" if what else f"{value:g}{self.unit}"
            raise InvalidInputError(field, f"{said} is outside {self.lo:g}–{self.hi:g}{self.unit}")


# Output frame. Either orientation, each side at most 3840, and never more pixels than the vertical 4K master.
SIDE = Bound(16, 3840, " px", integer=True)
MAX_PIXELS = 2160 * 3840
FPS = Bound(1, 60, " fps", integer=True)
REEL_SECONDS = Bound(3, 600, " s")  # a reel's target length (what a script is written for)
PLAN_SECONDS = Bound(0.5, 600, " s")  # a render's length
VIDEO_KBPS = Bound(200, 60_000, " kb/s", integer=True)
AUDIO_KBPS = Bound(32, 512, " kb/s", integer=True)
CRF = Bound(0, 51, integer=True)  # x264's quality scale
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
SAMPLE_RATES = (16_000, 22_050, 24_000, 32_000, 44_100, 48_000)
LOUDNESS_LUFS = Bound(-40, -5, " LUFS")
TRUE_PEAK_DB = Bound(-9, 0, " dB")
SAFE_MARGIN = Bound(0, 0.45)  # a safe zone's margin, as a fraction of the frame
SPEECH_RATE = Bound(0.5, 2.0)
TOPIC_CHARS = 300
AUDIENCE_CHARS = 100
TONE_CHARS = 40
SPEECH_TEXT_CHARS = 20_000  # text given to the speech stage directly
HOOK_VARIATIONS = Bound(1, 10, integer=True)

# Captions: the style as fractions of the frame, the pages' size.
CAPTION_SIZE = Bound(0.02, 0.25)  # of the frame width
CAPTION_STROKE = Bound(0, 0.5)  # of the font size
CAPTION_Y = Bound(0.05, 0.95)  # of the frame height
CHARS_PER_LINE = Bound(4, 60, integer=True)
LINES_PER_PAGE = Bound(1, 6, integer=True)
CAPTION_PAGES = Bound(0, 5_000, integer=True)
WORDS_PER_PAGE = Bound(1, 60, integer=True)
WORD_CHARS = Bound(1, 64, integer=True)
COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")

# Timeline: layers, their effects, audio tracks.
LAYERS = Bound(1, 200, integer=True)
SEED = Bound(0, 2**32 - 1, integer=True)
FADE_S = Bound(0, 10, " s")
SOURCE_IN_S = Bound(0, 24 * 3600, " s")
EFFECTS_PER_LAYER = Bound(0, 8, integer=True)
EFFECT_PARAMS: dict[str, dict[str, Bound]] = {
    "ken_burns": {
        "zoom_start": Bound(1, 3),
        "zoom_end": Bound(1, 3),
        "pan_x": Bound(-1, 1),
        "pan_y": Bound(-1, 1),
    },
    "color_grade": {
        "brightness": Bound(-0.5, 0.5),
        "contrast": Bound(0, 3),
        "saturation": Bound(0, 3),
        "warmth": Bound(-0.5, 0.5),
    },
    "vignette": {"strength": Bound(0, 1), "radius": Bound(0.05, 2)},
}
AUDIO_TRACKS = Bound(1, 8, integer=True)
GAIN_DB = Bound(-60, 24, " dB")
DUCK_DB = Bound(-60, 0, " dB")


def check_size(field: str, width: int, height: int) -> None:
    """An output frame size: even (yuv420p), each side within SIDE, no more pixels than MAX_PIXELS."""
    SIDE.check(field, width, "width")
    SIDE.check(field, height, "height")
    if width % 2 or height % 2:
        raise InvalidInputError(field, f"{width}x{height}: width and height must be even (yuv420p)")
    if width * height > MAX_PIXELS:
        raise InvalidInputError(field, f"{width}x{height} is over {MAX_PIXELS:,} pixels (2160x3840)")


def check_choice(field: str, value: object, choices: tuple[object, ...]) -> None:
    if value not in choices:
        raise InvalidInputError(field, f"{value!r} is not one of {', '.join(map(str, choices))}")


def check_text(field: str, value: str) -> None:
    """Text that reaches files, renders and subprocesses: no NUL or other control characters but tab and newline."""
    bad = next((c for c in value if (ord(c) < 32 and c not in "\t\n\r") or ord(c) == 127), None)
    if bad is not None:
        raise InvalidInputError(field, f"contains the control character {bad!r}")
