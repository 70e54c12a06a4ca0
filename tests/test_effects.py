"""Each effect pixel-exactly on tiny frames."""

from __future__ import annotations

import pytest
import torch

from pipeline.effects import make_effect
from pipeline.effects.color_grade import ColorGrade
from pipeline.effects.compose import alpha_over, blur_fill, box_blur, crop_fill, crossfade
from pipeline.effects.ken_burns import KenBurns
from pipeline.effects.vignette import Vignette
from pipeline.errors import InvalidInputError

T0 = torch.zeros(1)


def ramp(n: int = 1, h: int = 4, w: int = 6) -> torch.Tensor:
    x = torch.arange(n * 3 * h * w, dtype=torch.float32).view(n, 3, h, w)
    return x / x.max()


def test_ken_burns_identity_at_zoom_one_is_exact() -> None:
    f = ramp()
    out = KenBurns(1.0, 1.0, 0.0, 0.0).apply(f, T0)
    assert torch.allclose(out, f, atol=1e-6)


def test_ken_burns_zoom_two_shows_the_centre_magnified() -> None:
    # A 4x4 frame whose centre 2x2 block is white: at 2x zoom the whole frame is that block.
    f = torch.zeros(1, 3, 4, 4)
    f[..., 1:3, 1:3] = 1.0
    out = KenBurns(2.0, 2.0).apply(f, T0)
    assert torch.allclose(out[..., 1:3, 1:3], torch.ones(1, 3, 2, 2))
    assert out.mean() > 0.7


def test_ken_burns_moves_over_time_and_never_mutates_input() -> None:
    f = ramp(2, 8, 8)
    before = f.clone()
    out = KenBurns(1.0, 1.5, pan_x=1.0).apply(f, torch.tensor([0.0, 1.0]))
    assert torch.equal(f, before)
    assert torch.allclose(out[0], f[0], atol=1e-6)
    assert not torch.allclose(out[1], f[1])


def test_color_grade_neutral_is_identity_and_contrast_is_exact() -> None:
    f = torch.tensor([0.25, 0.5, 0.75]).view(1, 3, 1, 1)
    assert torch.equal(ColorGrade().apply(f, T0), f)
    out = ColorGrade(contrast=2.0).apply(f, T0)
    assert torch.allclose(out.flatten(), torch.tensor([0.0, 0.5, 1.0]))


def test_color_grade_zero_saturation_gives_rec709_grey() -> None:
    f = torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1, 1)
    out = ColorGrade(saturation=0.0).apply(f, T0).flatten()
    assert torch.allclose(out, torch.full((3,), 0.2126))


def test_vignette_keeps_centre_and_darkens_corners() -> None:
    f = torch.ones(1, 3, 9, 9)
    out = Vignette(strength=0.5, radius=0.5).apply(f, T0)
    assert out[0, 0, 4, 4] == 1.0
    assert torch.allclose(out[0, :, 0, 0], torch.full((3,), 0.5))


def test_crossfade_endpoints_and_midpoint() -> None:
    a, b = torch.zeros(3, 3, 2, 2), torch.ones(3, 3, 2, 2)
    out = crossfade(a, b, torch.tensor([0.0, 0.5, 1.0]))
    assert out[0].max() == 0 and torch.allclose(out[1], torch.full((3, 2, 2), 0.5)) and out[2].min() == 1


def test_alpha_over_is_exact_and_clipped_at_edges() -> None:
    frame = torch.zeros(1, 3, 4, 4)
    rgb = torch.ones(3, 2, 2) * 0.5  # premultiplied: colour 1.0 at alpha 0.5
    alpha = torch.full((1, 2, 2), 0.5)
    out = alpha_over(frame, rgb, alpha, top=3, left=3)  # only one pixel lands inside
    assert out[0, :, 3, 3].tolist() == [0.5, 0.5, 0.5]
    assert out.sum() == pytest.approx(1.5)
    assert frame.sum() == 0


def test_box_blur_preserves_flat_fields_and_spreads_a_point() -> None:
    flat = torch.full((1, 3, 5, 5), 0.3)
    assert torch.allclose(box_blur(flat, 1), flat)
    point = torch.zeros(1, 1, 7, 7)
    point[..., 3, 3] = 1.0
    out = box_blur(point, 1)
    assert out[..., 3, 3] < 1.0 and out[..., 2, 3] > 0 and out.sum() == pytest.approx(1.0, abs=1e-5)


def test_blur_fill_fits_whole_landscape_frame_in_the_middle() -> None:
    src = torch.rand(1, 3, 8, 16)  # 2:1 landscape into a 16x8 (h x w) portrait frame
    out = blur_fill(src, 16, 8, work_scale=2)
    assert out.shape == (1, 3, 16, 8)
    # Fitted foreground is 4 rows high, centred: rows 6..9 hold the downscaled source exactly.
    fore = torch.nn.functional.interpolate(src, size=(4, 8), mode="bilinear", align_corners=False, antialias=True)
    assert torch.allclose(out[..., 6:10, :], fore)
    assert not torch.allclose(out[..., :6, :], torch.zeros(1, 3, 6, 8))  # backdrop is not black


def test_crop_fill_takes_the_centre() -> None:
    src = torch.zeros(1, 3, 4, 8)
    src[..., 2:6] = 1.0  # centre 4 columns white
    assert torch.equal(crop_fill(src, 4, 4), torch.ones(1, 3, 4, 4))


def test_unknown_effect_and_bad_params_name_the_field() -> None:
    with pytest.raises(InvalidInputError, match="unknown effect 'sparkle'"):
        make_effect("sparkle", {})
    with pytest.raises(InvalidInputError, match="vignette"):
        make_effect("vignette", {"bogus": 1.0})
