"""The notebooks in notebooks/ run top to bottom in a real Jupyter kernel (so they cannot rot), and do what they say."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.media import ffprobe, stream

nbformat = pytest.importorskip("nbformat", reason="notebook tests need the dev extras: pip install -e .[dev]")
nbclient = pytest.importorskip("nbclient", reason="notebook tests need the dev extras: pip install -e .[dev]")
pytest.importorskip("ipykernel", reason="notebook tests need the dev extras: pip install -e .[dev]")
pytest.importorskip("matplotlib", reason="notebook tests need the dev extras: pip install -e .[dev]")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


@pytest.fixture
def kernel_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A `python3` kernelspec for this interpreter, found before any user-wide one, and a clean environment for the
    kernel: the project importable from a scratch working directory, outputs in tmp_path, no outside job system."""
    spec = tmp_path / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "Python 3", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    monkeypatch.setenv("REELS_NOTEBOOK_OUT", str(tmp_path / "out"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))  # no user profile or startup scripts
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    for name in ("REELS_REDIS_URL", "REELS_API_URL", "REELS_API_TOKEN", "OPENAI_BASE_URL", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    work = tmp_path / "cwd"
    work.mkdir()
    return work


def execute(name: str, cwd: Path) -> Any:
    """Run every cell; a failing cell raises CellExecutionError with its traceback."""
    path = NOTEBOOKS / name
    nb = nbformat.read(path, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), f"{name} is committed with outputs"
    assert path.stat().st_size < 50_000
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(cwd)}})
    client.execute()
    return nb


def outputs(nb: Any) -> list[Any]:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]


def summary(nb: Any) -> dict[str, Any]:
    """The JSON line the notebook's last cell prints."""
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.output_type == "stream")
    return json.loads(text.strip().splitlines()[-1])


def images(nb: Any) -> int:
    return sum(1 for o in outputs(nb) if "image/png" in o.get("data", {}))


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="the quickstart's offline voice needs espeak-ng")
def test_quickstart_makes_and_shows_a_reel(kernel_env: Path) -> None:
    nb = execute("01_quickstart.ipynb", kernel_env)
    s = summary(nb)
    video = Path(s["video"])
    assert video.is_relative_to(kernel_env.parent / "out")
    info = ffprobe(video)
    v = stream(info, "video")
    assert (v["codec_name"], v["width"], v["height"]) == ("h264", 270, 480)
    assert stream(info, "audio")["codec_name"] == "aac"
    html = [o.data["text/html"] for o in outputs(nb) if "text/html" in o.get("data", {})]
    assert any("<video" in h and "data:video/mp4;base64," in h for h in html), "no embedded video output"
    assert len(s["frames_shown"]) == 3 and images(nb) >= 1
    meta = json.loads(Path(s["metadata"]).read_text())
    assert meta["captions"]["words"] and meta["platforms"]["tiktok"]["hashtags"]


def test_effects_lab_shows_and_times_the_effects(kernel_env: Path) -> None:
    nb = execute("02_effects_lab.ipynb", kernel_env)
    assert images(nb) >= 5  # source frames, fits, effects, Ken Burns strip, compositing, the timing chart
    s = summary(nb)
    timed = {(t["op"], t["size"], t["device"]) for t in s["timings"] if t["ms_per_frame"] > 0}
    ops = {"ken_burns", "color_grade", "vignette", "crop_fill", "blur_fill", "box_blur r=6", "crossfade", "alpha_over"}
    for device in s["devices"]:
        assert {(op, size, device) for op in ops for size in ("270x480", "1080x1920")} <= timed
    text = "".join(o.get("text", "") for o in outputs(nb) if o.output_type == "stream")
    if s["devices"] == ["cpu"]:
        assert "No CUDA GPU here" in text


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="the notebook's own job system needs redis-server")
def test_cluster_notebook_runs_a_batch_to_completion(kernel_env: Path) -> None:
    nb = execute("03_cluster.ipynb", kernel_env)
    s = summary(nb)
    assert s["mode"] == "local"
    assert s["all_success"], s
    assert s["states"] == {"SUCCESS": 12} and s["hashtags"] == ["SUCCESS", "SUCCESS"]
    assert images(nb) >= 1
