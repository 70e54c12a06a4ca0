"""From script and narration to a RenderPlan: backgrounds laid on the timeline, captions paged, audio tracks."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pipeline.captions import WordTiming, paginate
from pipeline.errors import ScriptTooLongError
from pipeline.footage import list_footage, probe_video
from pipeline.plan import (
    AudioTrack,
    CaptionStyle,
    CaptionTrack,
    EffectSpec,
    OutputSpec,
    RenderPlan,
    VideoLayer,
)
from pipeline.platforms import PlatformPreset
from pipeline.procedural import seed_for
from pipeline.script import Script

TAIL_S = 0.6  # let the last word breathe before the cut
CROSSFADE_S = 0.5


def check_script_length(script: Script, preset: PlatformPreset, words_per_minute: float) -> None:
    """Refuse a script that cannot fit the platform, before any speech or rendering."""
    est = script.estimated_seconds(words_per_minute)
    if est > preset.max_duration_s:
        raise ScriptTooLongError(preset.name, est, preset.max_duration_s, script.word_count)


def check_duration(seconds: float, words: int, preset: PlatformPreset) -> None:
    if seconds + TAIL_S > preset.max_duration_s:
        raise ScriptTooLongError(preset.name, seconds + TAIL_S, preset.max_duration_s, words)


def default_effects(index: int) -> tuple[EffectSpec, ...]:
    # Alternate zoom direction and pan per clip so consecutive clips do not feel identical.
    sign = 1.0 if index % 2 == 0 else -1.0
    return (
        EffectSpec(
            "ken_burns",
            {
                "zoom_start": 1.0 if sign > 0 else 1.12,
                "zoom_end": 1.12 if sign > 0 else 1.0,
                "pan_x": 0.3 * sign,
                "pan_y": -0.2,
            },
        ),
        EffectSpec("color_grade", {"contrast": 1.08, "saturation": 1.1, "brightness": 0.0, "warmth": 0.02}),
        EffectSpec("vignette", {"strength": 0.35, "radius": 0.55}),
    )


def layout_background(background: str | None, duration: float, seed_text: str) -> tuple[VideoLayer, ...]:
    """Footage clips in name order, each used for its natural length and crossfaded, cycling as needed;
    a procedural layer when no footage is given."""
    if background is None:
        return (
            VideoLayer(
                "procedural",
                0.0,
                duration,
                seed=seed_for(seed_text),
                effects=(EffectSpec("vignette", {"strength": 0.3, "radius": 0.5}),),
            ),
        )
    clips = [probe_video(p) for p in list_footage(background)]
    if len(clips) == 1:
        return (VideoLayer("footage", 0.0, duration, path=clips[0].path, effects=default_effects(0)),)
    layers: list[VideoLayer] = []
    t, k = 0.0, 0
    while t < duration - 1e-6:
        clip = clips[k % len(clips)]
        length = max(1.0, clip.duration)
        end = min(duration, t + length)
        fade = CROSSFADE_S if layers else 0.0
        layers.append(
            VideoLayer("footage", t, end, path=clip.path, loop=True, fade_in=fade, effects=default_effects(k))
        )
        t = end - (CROSSFADE_S if end < duration else 0.0)
        k += 1
    return tuple(layers)


def build_plan(
    preset: PlatformPreset,
    narration_path: str | Path,
    words: Sequence[WordTiming],
    narration_seconds: float,
    background: str | None = None,
    music: str | None = None,
    title: str = "",
    style: CaptionStyle | None = None,
) -> RenderPlan:
    check_duration(narration_seconds, len(words), preset)
    duration = round(narration_seconds + TAIL_S, 3)
    style = style or CaptionStyle()
    pages = tuple(paginate(list(words), style.max_chars_per_line, style.max_lines))
    audio = [AudioTrack(str(narration_path), "narration")]
    if music:
        audio.append(AudioTrack(str(music), "music", gain_db=0.0, duck_db=-12.0))
    return RenderPlan(
        output=OutputSpec.from_preset(preset),
        duration=duration,
        layers=layout_background(background, duration, title or str(narration_path)),
        captions=CaptionTrack(style, pages),
        audio=tuple(audio),
        title=title,
    )
