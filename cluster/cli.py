"""The `reels` command: make, plan, render, voices, platforms."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from cluster.cli_cluster import add_parsers as add_cluster_parsers
from cluster.cli_cluster import cmd_cluster
from cluster.cli_jobs import add_parsers as add_job_parsers
from cluster.cli_jobs import cmd_jobs, cmd_worker
from cluster.cli_serve import add_parsers as add_serve_parsers
from cluster.cli_serve import cmd_serve, cmd_users
from cluster.settings import Settings
from pipeline.errors import InvalidInputError, InvalidMediaError, MissingToolError, ProviderError, ReelError
from pipeline.plan import RenderPlan
from pipeline.platforms import PRESETS, PlatformPreset, get_preset, parse_size
from pipeline.progress import StageProgress
from pipeline.providers import make_engine, make_writer
from pipeline.reel import ReelRequest, make_reel, prepare
from pipeline.render import InProcess, SegmentRunner, render

EXIT_BAD_INPUT, EXIT_PROVIDER, EXIT_MISSING_TOOL, EXIT_INTERNAL = 2, 3, 4, 1


class CliError(Exception):
    def __init__(self, message: str, code: int, field: str | None = None) -> None:
        super().__init__(message)
        self.code, self.field = code, field


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "reel"


@contextmanager
def stage_bars(enabled: bool) -> Iterator[StageProgress]:
    """Rich progress bars on stderr, one per stage; silent with --json."""
    if not enabled:
        yield lambda stage, fraction, status: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.fields[stage]:<7}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
    ) as bars:
        tasks: dict[str, Any] = {}

        def update(stage: str, fraction: float, status: str) -> None:
            if stage not in tasks:
                tasks[stage] = bars.add_task(status, total=1.0, stage=stage)
            bars.update(tasks[stage], completed=min(1.0, fraction), description=status)

        yield update


def _preset(args: argparse.Namespace, settings: Settings) -> PlatformPreset:
    preset = get_preset(args.platform or settings.platform)
    if getattr(args, "size", None):
        preset = preset.at_size(*parse_size(args.size))
    return preset


def _request(args: argparse.Namespace, settings: Settings) -> ReelRequest:
    return ReelRequest(
        topic=args.topic,
        preset=_preset(args, settings),
        audience=args.audience,
        tone=args.tone,
        target_seconds=args.seconds,
        voice=args.voice or settings.voice,
        rate=args.rate if args.rate is not None else settings.speech_rate,
        background=args.background,
        music=args.music or (str(settings.music) if settings.music else None),
        voiceover=args.voiceover,
        captions=args.captions,
    )


def cmd_make(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    req = _request(args, settings)
    out = Path(args.output) if args.output else settings.output_dir / f"{slug(args.topic)}.mp4"
    writer = make_writer(settings.providers(), args.script)
    engine = make_engine(settings.providers(), args.engine)
    device = args.device or settings.device
    segments = args.segments or settings.render_segments
    with stage_bars(not args.json) as progress:
        result = make_reel(req, writer, engine, out, _runner(segments, device), progress)
    o = result.plan.output
    return {
        "video": str(result.video),
        "srt": str(result.srt),
        "vtt": str(result.vtt),
        "metadata": str(result.metadata),
        "duration": round(result.duration, 3),
        "platform": o.platform,
        "width": o.width,
        "height": o.height,
        "fps": o.fps,
        "title": result.script.title,
    }


def _runner(segments: int, device: str) -> SegmentRunner:
    """segments > 1: frame ranges render in parallel as Ray tasks, on a local Ray started for them. Ray is imported
    only then: importing it would add over half a second to every other command."""
    if segments <= 1:
        return InProcess(device)
    from actors.segments import runner_for
    from cluster.runtime import start_ray

    start_ray()
    return runner_for(segments, device)


def cmd_plan(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    req = _request(args, settings)
    out = Path(args.output) if args.output else settings.output_dir / f"{slug(args.topic)}.plan.json"
    if out.suffix.lower() != ".json":
        raise InvalidInputError("--output", f"{out} must end in .json")
    out.parent.mkdir(parents=True, exist_ok=True)
    # The narration lives beside the plan so the plan stays valid after this command exits.
    assets = out.with_name(out.name.removesuffix(".json").removesuffix(".plan") + ".assets")
    assets.mkdir(exist_ok=True)
    with stage_bars(not args.json) as progress:
        providers = settings.providers()
        writer, engine = make_writer(providers, args.script), make_engine(providers, args.engine)
        script, plan = prepare(req, writer, engine, assets, progress)
    plan.save(out)
    return {"plan": str(out), "frames": plan.frame_count, "duration": plan.duration, "title": script.title}


def cmd_render(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    plan = RenderPlan.load(args.plan)
    for track in plan.audio:
        if not Path(track.path).is_file():
            raise InvalidMediaError(track.path, f"{track.role} audio referenced by the plan is missing")
    out = Path(args.output) if args.output else Path(args.plan).with_suffix(".mp4")
    runner = _runner(args.segments or settings.render_segments, args.device or settings.device)
    with stage_bars(not args.json) as progress:
        render(plan, out, runner, progress=lambda f, s: progress("render", f, s))
    return {
        "video": str(out),
        "frames": plan.frame_count,
        "duration": round(plan.frame_count / plan.output.fps, 3),
    }


def cmd_voices(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    voices = make_engine(settings.providers(), args.engine).voices()
    if not args.json:
        for v in voices:
            print(f"{v.id:<24} {v.name:<34} {v.engine}")
    return {"voices": [v.__dict__ for v in voices]}


def cmd_platforms(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    rows = [
        {
            "name": p.name,
            "label": p.label,
            "width": p.width,
            "height": p.height,
            "fps": p.fps,
            "max_duration_s": p.max_duration_s,
            "max_video_kbps": p.max_video_kbps,
            "safe_zone": p.safe_zone.__dict__,
        }
        for p in PRESETS.values()
    ]
    if not args.json:
        for r in rows:
            print(
                f"{r['name']:<7} {r['label']:<20} {r['width']}x{r['height']} {r['fps']} fps, "
                f"max {r['max_duration_s']:.0f} s, {r['max_video_kbps']} kb/s"
            )
    return {"platforms": rows}


def _content_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("topic", help="what the reel is about")
    p.add_argument("--platform", choices=None, help=f"one of {', '.join(PRESETS)} (default tiktok)")
    p.add_argument("--output", help="output file")
    p.add_argument("--size", help="override the frame size, e.g. 270x480 for previews")
    p.add_argument("--background", help="footage file or folder (default: procedural animation)")
    p.add_argument("--music", help="music bed, ducked under the narration")
    p.add_argument("--voiceover", help="your own narration audio (needs --captions)")
    p.add_argument("--captions", help="SRT, VTT or JSON word timings for --voiceover")
    p.add_argument("--script", help="your own script as a text file")
    p.add_argument("--audience", default="curious viewers")
    p.add_argument("--tone", default="energetic", help="energetic, calm, funny or serious")
    p.add_argument("--seconds", type=float, default=30.0, help="target length of a written script")
    p.add_argument("--engine", help="speech engine: espeak, coqui or openai")
    p.add_argument("--voice", help="voice id (see `reels voices`)")
    p.add_argument("--rate", type=float, help="speaking rate, 0.5–2.0")
    p.add_argument("--device", help="torch device for effects (cpu, cuda)")
    p.add_argument("--segments", type=int, help="render N frame ranges in parallel on a local Ray, then join")
    p.add_argument("--json", action="store_true", help="print a JSON result instead of progress bars")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse's own usage errors: one line, exit 2
        raise CliError(message, EXIT_BAD_INPUT)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="reels", description="Topic, script or voiceover in; vertical video out.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _content_args(sub.add_parser("make", help="topic -> MP4 + SRT + VTT + metadata JSON"))
    _content_args(sub.add_parser("plan", help="topic -> RenderPlan JSON (narration saved beside it)"))
    r = sub.add_parser("render", help="render a RenderPlan JSON")
    r.add_argument("plan")
    r.add_argument("--output")
    r.add_argument("--device")
    r.add_argument("--segments", type=int, help="render N frame ranges in parallel on a local Ray, then join")
    r.add_argument("--json", action="store_true")
    v = sub.add_parser("voices", help="list voices of a speech engine")
    v.add_argument("--engine")
    v.add_argument("--json", action="store_true")
    pl = sub.add_parser("platforms", help="list platform presets")
    pl.add_argument("--json", action="store_true")
    add_job_parsers(sub)
    add_serve_parsers(sub)
    add_cluster_parsers(sub)
    return parser


COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], dict[str, Any]]] = {
    "make": cmd_make,
    "plan": cmd_plan,
    "render": cmd_render,
    "voices": cmd_voices,
    "platforms": cmd_platforms,
    "worker": cmd_worker,
    "jobs": cmd_jobs,
    "serve": cmd_serve,
    "users": cmd_users,
    "cluster": cmd_cluster,
}


def _classify(e: Exception) -> CliError:
    if isinstance(e, CliError):
        return e
    if isinstance(e, InvalidInputError):
        return CliError(str(e), EXIT_BAD_INPUT, e.field)
    if isinstance(e, InvalidMediaError):
        return CliError(str(e), EXIT_BAD_INPUT, e.path)
    if isinstance(e, MissingToolError):
        return CliError(str(e), EXIT_MISSING_TOOL, e.tool)
    if isinstance(e, ProviderError):
        return CliError(str(e), EXIT_PROVIDER, e.provider)
    if isinstance(e, ReelError | ValueError):
        return CliError(str(e), EXIT_BAD_INPUT)
    if isinstance(e, ValidationError):
        err = e.errors()[0]
        name = "REELS_" + str(err["loc"][0]).upper() if err["loc"] else "settings"
        return CliError(f"{name}: {err['msg']}", EXIT_BAD_INPUT, name)
    return CliError(f"internal error: {type(e).__name__}: {e} (set REELS_DEBUG=1 for the traceback)", EXIT_INTERNAL)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in argv
    try:
        args = build_parser().parse_args(argv)
        settings = Settings()
        result = COMMANDS[args.command](args, settings)
    except KeyboardInterrupt:
        print("reels: interrupted", file=sys.stderr)
        return 130
    except Exception as e:
        if os.environ.get("REELS_DEBUG"):
            raise
        err = _classify(e)
        if as_json:
            print(json.dumps({"error": str(err), "field": err.field, "exit_code": err.code}))
        print(f"reels: error: {err}", file=sys.stderr)
        return err.code
    if as_json or args.command == "jobs":
        print(json.dumps(result, indent=None if as_json else 2))
    elif "video" in result:
        print(result["video"])
    elif "plan" in result:
        print(result["plan"])
    return 0


if __name__ == "__main__":
    tempfile.tempdir = None
    raise SystemExit(main())
