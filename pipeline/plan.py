"""RenderPlan: the serializable timeline every renderer (laptop, CPU worker, GPU actor) consumes."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pipeline.captions import CaptionPage
from pipeline.errors import InvalidInputError
from pipeline.platforms import PlatformPreset, SafeZone

PLAN_VERSION = 1


@dataclass(frozen=True)
class OutputSpec:
    platform: str
    width: int
    height: int
    fps: int
    safe_zone: SafeZone
    max_kbps: int
    audio_kbps: int
    crf: int = 23
    preset: str = "veryfast"
    sample_rate: int = 48_000
    loudness_lufs: float = -14.0
    true_peak_db: float = -1.0

    @classmethod
    def from_preset(cls, p: PlatformPreset) -> OutputSpec:
        return cls(
            p.name,
            p.width,
            p.height,
            p.fps,
            p.safe_zone,
            p.max_video_kbps,
            p.audio_kbps,
            loudness_lufs=p.loudness_lufs,
            true_peak_db=p.true_peak_db,
        )


@dataclass(frozen=True)
class EffectSpec:
    name: str
    params: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class VideoLayer:
    """One background clip on the timeline; `start`/`end` in output seconds."""

    kind: Literal["footage", "procedural"]
    start: float
    end: float
    path: str | None = None
    seed: int = 0
    source_in: float = 0.0
    loop: bool = True
    fit: Literal["blur_fill", "crop"] = "blur_fill"
    fade_in: float = 0.0  # crossfade from the previous layer over this many seconds
    effects: tuple[EffectSpec, ...] = ()


@dataclass(frozen=True)
class CaptionStyle:
    font: str = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
    size: float = 0.075  # font size as a fraction of the frame width
    color: str = "#FFFFFF"
    highlight: str = "#FFD21F"
    stroke_color: str = "#000000"
    stroke: float = 0.12  # stroke width as a fraction of the font size
    shadow: bool = True
    y: float = 0.62  # vertical centre of the caption block, fraction of height (clamped to the safe zone)
    max_chars_per_line: int = 16
    max_lines: int = 2
    uppercase: bool = True


@dataclass(frozen=True)
class CaptionTrack:
    style: CaptionStyle
    pages: tuple[CaptionPage, ...]


@dataclass(frozen=True)
class AudioTrack:
    path: str
    role: Literal["narration", "music"]
    gain_db: float = 0.0
    duck_db: float = -12.0


@dataclass(frozen=True)
class RenderPlan:
    output: OutputSpec
    duration: float
    layers: tuple[VideoLayer, ...]
    captions: CaptionTrack
    audio: tuple[AudioTrack, ...]
    title: str = ""
    version: int = PLAN_VERSION

    @property
    def frame_count(self) -> int:
        return max(1, round(self.duration * self.output.fps))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RenderPlan:
        if not isinstance(data, dict):
            raise InvalidInputError("plan", "a plan is a JSON object")
        version = data.get("version", PLAN_VERSION)
        if version != PLAN_VERSION:
            raise InvalidInputError("plan.version", f"{version}; this build reads version {PLAN_VERSION}")
        plan = _build(cls, data, "plan")
        assert isinstance(plan, RenderPlan)
        plan.validate()
        return plan

    @classmethod
    def from_json(cls, text: str) -> RenderPlan:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise InvalidInputError("plan", f"not valid JSON ({e.msg} at line {e.lineno})") from None
        return cls.from_dict(data)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> RenderPlan:
        try:
            return cls.from_json(Path(path).read_text(encoding="utf-8"))
        except OSError as e:
            raise InvalidInputError("plan", f"cannot read {path} ({e.strerror})") from None

    def validate(self) -> None:
        o = self.output
        if o.width <= 0 or o.height <= 0 or o.width % 2 or o.height % 2:
            raise InvalidInputError("plan.output", f"{o.width}x{o.height}: sizes must be positive and even")
        if not 1 <= o.fps <= 120:
            raise InvalidInputError("plan.output.fps", f"{o.fps} is outside 1–120")
        if not 0 < self.duration <= 3600:
            raise InvalidInputError("plan.duration", f"{self.duration} s is outside (0, 3600]")
        if not self.layers:
            raise InvalidInputError("plan.layers", "a plan needs at least one video layer")
        for i, layer in enumerate(self.layers):
            if layer.end <= layer.start:
                raise InvalidInputError(f"plan.layers[{i}]", "ends before it starts")
            if layer.kind == "footage" and not layer.path:
                raise InvalidInputError(f"plan.layers[{i}].path", "footage layers need a path")
        if not any(a.role == "narration" for a in self.audio):
            raise InvalidInputError("plan.audio", "a plan needs a narration track")


def _build(tp: Any, value: Any, where: str) -> Any:
    """Typed reconstruction of nested dataclasses from JSON values; errors name the field."""
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if not isinstance(value, dict):
            raise InvalidInputError(where, f"expected an object, got {type(value).__name__}")
        hints = typing.get_type_hints(tp)
        names = {f.name for f in dataclasses.fields(tp)}
        unknown = set(value) - names
        if unknown:
            raise InvalidInputError(where, f"unknown field(s) {', '.join(sorted(unknown))}")
        kwargs = {k: _build(hints[k], v, f"{where}.{k}") for k, v in value.items()}
        try:
            return tp(**kwargs)
        except TypeError as e:
            raise InvalidInputError(where, str(e)) from None
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        return _build(next(a for a in args if a is not type(None)), value, where)
    if origin is Literal:
        if value not in typing.get_args(tp):
            raise InvalidInputError(where, f"{value!r} is not one of {', '.join(map(repr, typing.get_args(tp)))}")
        return value
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise InvalidInputError(where, f"expected a list, got {type(value).__name__}")
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_build(args[0], v, f"{where}[{i}]") for i, v in enumerate(value))
        return tuple(_build(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, value, strict=True)))
    if origin is dict:
        if not isinstance(value, dict):
            raise InvalidInputError(where, f"expected an object, got {type(value).__name__}")
        _, vt = typing.get_args(tp)
        return {str(k): _build(vt, v, f"{where}.{k}") for k, v in value.items()}
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidInputError(where, f"expected a number, got {value!r}")
        return float(value)
    if tp in (int, str, bool):
        if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
            raise InvalidInputError(where, f"expected {tp.__name__}, got {value!r}")
        return value
    return value
