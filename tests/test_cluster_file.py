"""ray_cluster.yaml passes Ray's own validator; broken variants are refused with Ray's message by `reels cluster
check` (exit 2, the file named)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from cluster.cli import main

ROOT = Path(__file__).resolve().parents[1]
CLUSTER = ROOT / "ray_cluster.yaml"


def test_the_cluster_file_is_valid_and_advertises_the_queues(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cluster", "check", str(CLUSTER), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    types = out["node_types"]
    assert out["provider"] == "aws"
    assert {"queue_content", "queue_speech", "queue_video"} <= set(types["cpu_worker"]["resources"])
    assert types["gpu_worker"]["resources"] == {"queue_gpu": 1} and types["gpu_worker"]["max"] >= 1
    raw = yaml.safe_load(CLUSTER.read_text())
    assert raw["idle_timeout_minutes"] > 0 and all(t.get("min_workers", 0) == 0 for t in types.values())
    assert any("scripts/install.sh" in c for c in raw["setup_commands"])  # installed the README's way


def _broken(tmp_path: Path, change: Any) -> Path:
    raw = yaml.safe_load(CLUSTER.read_text())
    bad = copy.deepcopy(raw)
    change(bad)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad))
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c["available_node_types"]["cpu_worker"].update(max_wrokers=3), "'max_wrokers' was unexpected"),
        (lambda c: c.update(head_node_type="nope"), "head_node_type"),
        (lambda c: c.update(idle_timeout_minutes="five"), "'five' is not of type 'number'"),
        (lambda c: c.update(setup_commands=[{"a": "b"}]), "is not of type 'string'"),
    ],
)
def test_broken_cluster_files_are_refused_with_rays_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: Any, message: str
) -> None:
    path = _broken(tmp_path, change)
    assert main(["cluster", "check", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "Ray refuses it" in err and message in err, err


def test_unreadable_cluster_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cluster", "check", str(tmp_path / "missing.yaml")]) == 2
    assert "missing.yaml: cannot read it" in capsys.readouterr().err
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    assert main(["cluster", "check", str(tmp_path / "list.yaml")]) == 2
    assert "a cluster file is a YAML mapping" in capsys.readouterr().err


def test_cluster_scale_sets_the_slots_and_asks_the_autoscaler(
    client: Any, redis_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("REELS_REDIS_URL", redis_url)
    assert main(["cluster", "scale", "--queue", "video", "--workers", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["caps"]["video"] == 3 and client.store.caps()["video"] == 3
    assert out["autoscaler"].startswith("requested") and "queue slot" in out["autoscaler"]
    assert main(["cluster", "scale", "--queue", "nope", "--workers", "3"]) == 2
    assert "--queue: 'nope'" in capsys.readouterr().err
