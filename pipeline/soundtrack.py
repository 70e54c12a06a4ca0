"""A plan's soundtrack: its audio tracks checked, mixed, ducked, normalised and encoded to AAC."""

from __future__ import annotations

import threading
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from pipeline.audio import load_audio, mix, normalize, probe_audio
from pipeline.low_priority import check_cancel, give_way
from pipeline.plan import RenderPlan


def check_audio(plan: RenderPlan) -> None:
    """Every audio track opens and decodes: a missing or corrupt file fails before any video work."""
    for track in plan.audio:
        probe_audio(track.path)


def mix_audio(plan: RenderPlan, cancel: threading.Event | None = None) -> np.ndarray:
    """The plan's audio tracks mixed, ducked and normalised: float32 (n, 2), exactly the video's length."""
    o = plan.output
    n = round(plan.frame_count / o.fps * o.sample_rate)
    voice = np.zeros(n, dtype=np.float32)
    music = None
    for track in plan.audio:
        check_cancel(cancel)
        data = load_audio(track.path, o.sample_rate) * 10 ** (track.gain_db / 20)
        if track.role == "narration":
            mono = data.mean(axis=1)[:n]
            voice[: len(mono)] += mono
        else:
            music = data
    duck = next((t.duck_db for t in plan.audio if t.role == "music"), -12.0)
    check_cancel(cancel)
    mixed = mix(voice, music, o.sample_rate, duck_db=duck)
    check_cancel(cancel)
    return normalize(mixed, o.sample_rate, o.loudness_lufs, o.true_peak_db)


def _audio_packets(
    stream: av.audio.stream.AudioStream, audio: np.ndarray, rate: int, cancel: threading.Event | None
) -> list[av.Packet]:
    packets: list[av.Packet] = []
    chunk = 1024  # one AAC frame (~0.4 ms to encode), then give_way(): it runs beside x264
    planar = np.ascontiguousarray(audio.T.astype(np.float32))
    for s0 in range(0, planar.shape[1], chunk):
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(planar[:, s0 : s0 + chunk]), format="fltp", layout="stereo"
        )
        frame.sample_rate, frame.pts, frame.time_base = rate, s0, Fraction(1, rate)
        packets.extend(stream.encode(frame))
        check_cancel(cancel)
        give_way()
    packets.extend(stream.encode(None))
    return packets


def encode_audio(plan: RenderPlan, path: str | Path, cancel: threading.Event | None = None) -> Path:
    """The plan's audio mixed and encoded to AAC in an audio-only MP4, for join() to remux: it is made on its own
    thread while the video renders, so the AAC encoder no longer runs alone at the end (0.3 s of a 10 s reel)."""
    o = plan.output
    audio = mix_audio(plan, cancel)
    with av.open(str(path), "w", format="mp4") as out:
        # FFmpeg's "fast" AAC coder, not its default "twoloop": at our 192-256 kb/s it is 2.4x faster (0.58 against
        # 1.40 s for 30 s of narration over music) and closer to the mix (47.7 against 28.5 dB SNR; twoloop spends
        # bits the perceptual way, which pays off only at low bitrates).
        stream = out.add_stream("aac", rate=o.sample_rate, layout="stereo", options={"aac_coder": "fast"})
        stream.bit_rate = o.audio_kbps * 1000
        for packet in _audio_packets(stream, audio, o.sample_rate, cancel):
            out.mux(packet)
    return Path(path)
