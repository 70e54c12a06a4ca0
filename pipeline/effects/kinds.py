"""What kind of operation an effect is: the compositor picks each effect's place in the frame path by its kind
alone, so a new effect needs a class, a registry entry and its limits, and no edit of the compositor."""

from __future__ import annotations

from typing import Literal

# "colour": a pointwise RGB map, `affine() -> (M, b)`; folded with the layer's other colour maps into one grade that
#           runs on the source's YUV planes (or in the CPU kernels' one pass).
# "move":   a zoom/pan, `window(t) -> (scale, centre)` tensors; at most one per layer takes the one-pass paths.
# "pixels": any other operation on the source's RGB frames, `apply(frames, t)`; the layer then takes the general
#           RGB path.
# "gain":   a per-pixel gain on the finished frame, `gain(h, w, device)`, applied to every plane.
EffectKind = Literal["colour", "move", "pixels", "gain"]
