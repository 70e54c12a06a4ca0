"""The progress callbacks every long step takes (a fraction done, 0..1, and a short status for people), and the one
table of how a reel's stages share a job's progress."""

from __future__ import annotations

from collections.abc import Callable, Iterable

Progress = Callable[[float, str], None]  # (fraction, status)
StageProgress = Callable[[str, float, str], None]  # (stage, fraction of that stage, status)

# A reel's stages in order, each with its share of the time a whole reel takes (the render dominates: a 30 s
# offline reel spends about 5 % writing, 5 % speaking and the rest rendering and exporting).
REEL_STAGES: dict[str, float] = {"script": 0.05, "speech": 0.05, "plan": 0.0, "render": 0.87, "export": 0.03}


def stage_weight(stages: Iterable[str]) -> float:
    return sum(REEL_STAGES[s] for s in stages)


def by_stage(progress: Progress, stages: Iterable[str] = tuple(REEL_STAGES)) -> StageProgress:
    """A StageProgress for work made of `stages` (in REEL_STAGES's order), reported to `progress` as one fraction:
    each stage fills its share of the whole."""
    names = list(stages)
    total = stage_weight(names) or 1.0
    spans: dict[str, tuple[float, float]] = {}
    lo = 0.0
    for name in names:
        hi = lo + REEL_STAGES[name] / total
        spans[name] = (lo, hi)
        lo = hi

    def report(stage: str, fraction: float, status: str) -> None:
        a, b = spans.get(stage, (0.0, 1.0))
        progress(a + (b - a) * fraction, status)

    return report
