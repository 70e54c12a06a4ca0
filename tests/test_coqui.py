"""Coqui TTS engine, for real: a tiny randomly initialised VITS built here (no download), loaded through
`TTS.api.TTS(model_path=..., config_path=...)`. Needs the separate environment of scripts/install-tts.sh
(run scripts/test-tts.sh); skipped where `TTS` is not importable (the main .venv)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("TTS")

from pipeline.errors import InvalidInputError, InvalidMediaError
from pipeline.speech.coqui import CoquiEngine

SAMPLE_RATE = 16_000


def build_tiny_vits(folder: Path, seed: int = 0) -> tuple[Path, Path]:
    """A VITS of ~250k parameters with random weights, saved the way coqui-tts checkpoints are."""
    import torch
    from TTS.config.shared_configs import BaseAudioConfig
    from TTS.tts.configs.shared_configs import CharactersConfig
    from TTS.tts.configs.vits_config import VitsArgs, VitsConfig
    from TTS.tts.models.vits import Vits

    torch.manual_seed(seed)
    args = VitsArgs(
        hidden_channels=16,
        hidden_channels_ffn_text_encoder=32,
        num_heads_text_encoder=2,
        num_layers_text_encoder=1,
        num_layers_posterior_encoder=1,
        num_layers_flow=1,
        resblock_kernel_sizes_decoder=[3],
        resblock_dilation_sizes_decoder=[[1, 3, 5]],
        upsample_rates_decoder=[8, 8, 4],  # product = hop_length
        upsample_initial_channel_decoder=16,
        upsample_kernel_sizes_decoder=[16, 16, 8],
        init_discriminator=False,
        use_sdp=False,
    )
    config = VitsConfig(
        model_args=args,
        audio=BaseAudioConfig(  # no endpoint trimming: it would cut random noise short
            sample_rate=SAMPLE_RATE, fft_size=1024, win_length=1024, hop_length=256, do_trim_silence=False
        ),
        use_phonemes=False,
        phoneme_language="en",
        text_cleaner="basic_cleaners",
        characters=CharactersConfig(
            characters_class="TTS.tts.utils.text.characters.Graphemes",
            pad="_",
            eos="",
            bos="",
            blank="#",
            characters="abcdefghijklmnopqrstuvwxyz",
            punctuations=".,!? ",
            is_unique=True,
            is_sorted=True,
        ),
    )
    model = Vits(config)
    with torch.no_grad():
        # Random weights speak softly and in blips: a louder last layer (before tanh) keeps the output clear, and a
        # fixed duration of 4 frames per token makes length_scale (the speaking rate) act like a trained model's.
        model.waveform_decoder.conv_post.weight.mul_(10.0)
        model.duration_predictor.proj.weight.zero_()
        model.duration_predictor.proj.bias.fill_(math.log(4.0))
    model_path, config_path = folder / "model.pth", folder / "config.json"
    torch.save({"model": model.state_dict()}, model_path)
    config.save_json(str(config_path))
    return model_path, config_path


@pytest.fixture(scope="module")
def tiny_vits(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return build_tiny_vits(tmp_path_factory.mktemp("tiny-vits"))


@pytest.fixture(scope="module")
def engine(tiny_vits: tuple[Path, Path]) -> CoquiEngine:
    model_path, config_path = tiny_vits
    return CoquiEngine(str(model_path), str(config_path))


def test_synthesizes_real_audio_with_word_timings(engine: CoquiEngine) -> None:
    sentences = ["Hello there.", "Second sentence here."]
    calls: list[float] = []
    n = engine.synthesize(sentences, None, 1.0, progress=lambda f, _msg: calls.append(f))

    assert n.sample_rate == SAMPLE_RATE == engine._tts.synthesizer.output_sample_rate
    assert n.audio.dtype == np.float32 and n.audio.ndim == 1
    assert n.duration > 0.2
    assert np.isfinite(n.audio).all() and np.abs(n.audio).max() <= 1.0
    assert float(np.sqrt(np.mean(n.audio**2))) > 0.01  # not silence
    assert calls == [0.5, 1.0]

    assert [w.word for w in n.words] == " ".join(sentences).split()
    starts, ends = [w.start for w in n.words], [w.end for w in n.words]
    assert starts[0] == 0.0
    assert all(s < e for s, e in zip(starts, ends, strict=True))
    assert all(e <= s2 + 1e-9 for e, s2 in zip(ends, starts[1:], strict=False))  # in order, never overlapping
    assert ends[-1] == pytest.approx(n.duration, abs=0.002)  # the words cover the audio to its end


def test_model_is_loaded_once_and_kept(engine: CoquiEngine) -> None:
    engine.synthesize(["One."], None, 1.0)
    first = engine._tts
    engine.synthesize(["Two."], None, 1.0)
    assert engine._tts is first


def test_rate_scales_the_duration(engine: CoquiEngine) -> None:
    text = ["This sentence is long enough to measure how fast it is spoken."]
    slow = engine.synthesize(text, None, 0.5).duration
    fast = engine.synthesize(text, None, 2.0).duration
    assert fast < slow / 2  # length_scale 2.0 vs 0.5: about 4x
    assert engine._tts.synthesizer.tts_model.length_scale == 1.0  # restored after each call


def test_voices_and_voice_validation(engine: CoquiEngine) -> None:
    voices = engine.voices()
    assert [(v.id, v.language, v.engine) for v in voices] == [("default", "en", "coqui")]
    assert engine.synthesize(["Hi."], "default", 1.0).duration > 0
    with pytest.raises(InvalidInputError) as e:
        engine.synthesize(["Hi."], "nobody", 1.0)
    assert e.value.field == "voice"
    with pytest.raises(InvalidInputError) as e:
        engine.synthesize(["Hi."], None, 3.0)
    assert e.value.field == "rate"


def test_missing_model_file_names_the_path(tmp_path: Path, tiny_vits: tuple[Path, Path]) -> None:
    missing = tmp_path / "nope" / "model.pth"
    with pytest.raises(InvalidMediaError) as e:
        CoquiEngine(str(missing), str(tiny_vits[1])).synthesize(["Hello."], None, 1.0)
    assert e.value.path == str(missing) and str(missing) in str(e.value)

    missing_cfg = tmp_path / "config.json"
    with pytest.raises(InvalidMediaError) as e:
        CoquiEngine(str(tiny_vits[0]), str(missing_cfg))
    assert e.value.path == str(missing_cfg)


def test_corrupt_model_file_is_invalid_media(tmp_path: Path, tiny_vits: tuple[Path, Path]) -> None:
    bad = tmp_path / "model.pth"
    bad.write_bytes(b"this is not a torch checkpoint")
    with pytest.raises(InvalidMediaError) as e:
        CoquiEngine(str(bad), str(tiny_vits[1])).synthesize(["Hello."], None, 1.0)
    assert e.value.path == str(bad)
