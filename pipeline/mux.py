"""Segments' H.264 packets and the soundtrack's AAC packets joined into one MP4 without re-encoding."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av

from pipeline.encode import Segment
from pipeline.low_priority import check_cancel
from pipeline.plan import RenderPlan


def join(
    plan: RenderPlan,
    segments: Sequence[Segment],
    audio: str | Path | None,
    out_path: str | Path,
    cancel: threading.Event | None = None,
) -> None:
    """Concatenate segments' H.264 packets and the audio file's AAC packets (no re-encode), moov atom first."""
    o = plan.output
    inputs = [av.open(s.path) for s in sorted(segments, key=lambda s: s.start)]
    audio_in = av.open(str(audio)) if audio is not None else None
    try:
        template = inputs[0].streams.video[0]
        for c in inputs[1:]:
            if bytes(c.streams.video[0].codec_context.extradata or b"") != bytes(
                template.codec_context.extradata or b""
            ):
                raise ValueError("segments were encoded with different settings and cannot be joined")
        with av.open(str(out_path), "w", format="mp4", options={"movflags": "+faststart"}) as out:
            vout = out.add_stream_from_template(template)
            aout = None
            apackets: list[av.Packet] = []
            if audio_in is not None:
                ain = audio_in.streams.audio[0]
                aout = out.add_stream_from_template(ain)
                apackets = [pkt for pkt in audio_in.demux(ain) if pkt.dts is not None]
                for pkt in apackets:
                    pkt.stream = aout
            ai = 0
            for seg, c in zip(sorted(segments, key=lambda s: s.start), inputs, strict=True):
                check_cancel(cancel)
                vin = c.streams.video[0]
                tb = vin.time_base
                assert tb is not None, "demuxed streams always have a time base"
                offset = int(Fraction(seg.start, o.fps) / tb)
                for pkt in c.demux(vin):
                    if pkt.dts is None:
                        continue
                    pkt.pts = None if pkt.pts is None else pkt.pts + offset
                    pkt.dts += offset
                    t_video = float(pkt.dts * tb)
                    while (
                        aout is not None
                        and ai < len(apackets)
                        and float((apackets[ai].pts or 0) * (apackets[ai].time_base or 0)) <= t_video
                    ):
                        out.mux(apackets[ai])
                        ai += 1
                    pkt.stream = vout
                    out.mux(pkt)
            for pkt in apackets[ai:]:
                out.mux(pkt)
    finally:
        for c in inputs:
            c.close()
        if audio_in is not None:
            audio_in.close()
