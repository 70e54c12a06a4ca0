"""RenderPlan: the serializable timeline every renderer (laptop, CPU worker, GPU actor) consumes."""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pipeline import limits
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
        """The whole plan against pipeline.limits, and its cross-references: layers start on the timeline (one
        running past the end is cut there), caption lines index their page's words, words are timed. A plan that
        passes renders; the first problem found is an InvalidInputError naming its field."""
        _check_output(self.output)
        limits.PLAN_SECONDS.check("plan.duration", self.duration)
        limits.check_text("plan.title", self.title)
        limits.LAYERS.check("plan.layers", len(self.layers), "count")
        for i, layer in enumerate(self.layers):
            _check_layer(f"plan.layers[{i}]", layer, self.duration)
        _check_captions(self.captions)
        limits.AUDIO_TRACKS.check("plan.audio", len(self.audio), "count")
        for i, track in enumerate(self.audio):
            where = f"plan.audio[{i}]"
            _check_path(f"{where}.path", track.path)
            limits.GAIN_DB.check(f"{where}.gain_db", track.gain_db)
            limits.DUCK_DB.check(f"{where}.duck_db", track.duck_db)
        roles = [a.role for a in self.audio]
        if "narration" not in roles:
            raise InvalidInputError("plan.audio", "a plan needs a narration track")
        if roles.count("music") > 1:
            raise InvalidInputError("plan.audio", "a plan has at most one music track (the bed under the voice)")


def _check_output(o: OutputSpec) -> None:
    limits.check_size("plan.output", o.width, o.height)
    limits.FPS.check("plan.output.fps", o.fps)
    limits.VIDEO_KBPS.check("plan.output.max_kbps", o.max_kbps)
    limits.AUDIO_KBPS.check("plan.output.audio_kbps", o.audio_kbps)
    limits.CRF.check("plan.output.crf", o.crf)
    limits.check_choice("plan.output.preset", o.preset, limits.X264_PRESETS)
    limits.check_choice("plan.output.sample_rate", o.sample_rate, limits.SAMPLE_RATES)
    limits.LOUDNESS_LUFS.check("plan.output.loudness_lufs", o.loudness_lufs)
    limits.TRUE_PEAK_DB.check("plan.output.true_peak_db", o.true_peak_db)
    z = o.safe_zone
    for side in ("top", "bottom", "left", "right"):
        limits.SAFE_MARGIN.check(f"plan.output.safe_zone.{side}", getattr(z, side))
    limits.check_text("plan.output.platform", o.platform)


def _check_layer(where: str, layer: VideoLayer, duration: float) -> None:
    limits.Bound(0, duration, " s").check(f"{where}.start", layer.start)
    if not (math.isfinite(layer.end) and layer.end > layer.start):
        raise InvalidInputError(f"{where}.end", f"{layer.end:g} s does not come after its start ({layer.start:g} s)")
    if layer.start >= duration:
        raise InvalidInputError(f"{where}.start", f"{layer.start:g} s is past the plan's end ({duration:g} s)")
    if layer.kind == "footage":
        if not layer.path:
            raise InvalidInputError(f"{where}.path", "footage layers need a path")
        _check_path(f"{where}.path", layer.path)
    limits.SEED.check(f"{where}.seed", layer.seed)
    limits.SOURCE_IN_S.check(f"{where}.source_in", layer.source_in)
    limits.FADE_S.check(f"{where}.fade_in", layer.fade_in)
    limits.EFFECTS_PER_LAYER.check(f"{where}.effects", len(layer.effects), "count")
    for j, effect in enumerate(layer.effects):
        bounds = limits.EFFECT_PARAMS.get(effect.name)
        if bounds is None:
            choices = ", ".join(limits.EFFECT_PARAMS)
            raise InvalidInputError(f"{where}.effects[{j}].name", f"{effect.name!r} is not one of {choices}")
        for name, value in effect.params.items():
            if name not in bounds:
                known = ", ".join(bounds)
                raise InvalidInputError(f"{where}.effects[{j}].params", f"{name!r} is not one of {known}")
            bounds[name].check(f"{where}.effects[{j}].params.{name}", value)


def _check_captions(track: CaptionTrack) -> None:
    st = track.style
    _check_path("plan.captions.style.font", st.font)
    limits.CAPTION_SIZE.check("plan.captions.style.size", st.size)
    limits.CAPTION_STROKE.check("plan.captions.style.stroke", st.stroke)
    limits.CAPTION_Y.check("plan.captions.style.y", st.y)
    limits.CHARS_PER_LINE.check("plan.captions.style.max_chars_per_line", st.max_chars_per_line)
    limits.LINES_PER_PAGE.check("plan.captions.style.max_lines", st.max_lines)
    for name in ("color", "highlight", "stroke_color"):
        if not limits.COLOR.match(getattr(st, name)):
            raise InvalidInputError(f"plan.captions.style.{name}", f"{getattr(st, name)!r} is not a #RRGGBB colour")
    limits.CAPTION_PAGES.check("plan.captions.pages", len(track.pages), "count")
    for i, page in enumerate(track.pages):
        where = f"plan.captions.pages[{i}]"
        limits.WORDS_PER_PAGE.check(f"{where}.words", len(page.words), "count")
        for j, w in enumerate(page.words):
            limits.WORD_CHARS.check(f"{where}.words[{j}].word", len(w.word), "length")
            limits.check_text(f"{where}.words[{j}].word", w.word)
            limits.Bound(0, limits.PLAN_SECONDS.hi, " s").check(f"{where}.words[{j}].start", w.start)
            limits.Bound(w.start, limits.PLAN_SECONDS.hi, " s").check(f"{where}.words[{j}].end", w.end)
        limits.LINES_PER_PAGE.check(f"{where}.lines", len(page.lines), "count")
        for k, line in enumerate(page.lines):
            if not line or any(not 0 <= n < len(page.words) for n in line):
                raise InvalidInputError(
                    f"{where}.lines[{k}]", f"each line lists indexes of the page's {len(page.words)} words"
                )


def _check_path(field: str, path: str) -> None:
    if not path or len(path) > 4096:
        raise InvalidInputError(field, "a path of 1 to 4096 characters")
    limits.check_text(field, path)


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
