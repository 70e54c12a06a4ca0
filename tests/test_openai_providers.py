"""LLMWriter and OpenAISpeechEngine through the real `openai` client against a local OpenAI-compatible server."""

from __future__ import annotations

import itertools
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from pipeline.errors import InvalidInputError, ProviderError
from pipeline.script import Brief
from pipeline.speech.base import SENTENCE_PAUSE_S
from pipeline.speech.openai_tts import OpenAISpeechEngine
from pipeline.writers.llm import LLMWriter
from tests.openai_stub import PCM_SAMPLE_RATE, SECONDS_PER_WORD, OpenAIStub

GOOD = {
    "title": "Stub Title: Black Holes",
    "hook": "A black hole is a star that fell in on itself.",
    "beats": ["Gravity wins over everything.", "Not even light gets out."],
    "call_to_action": "Follow for more.",
    "description": "How black holes form, fast.",
    "hashtags": ["blackholes", "#Space", "# science facts", "#space", ""],
}


@pytest.fixture
def stub() -> Iterator[OpenAIStub]:
    with OpenAIStub() as s:
        yield s


def make_client(base_url: str, timeout: float = 5) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url, api_key="test", max_retries=0, timeout=timeout)


@pytest.fixture
def client(stub: OpenAIStub) -> Iterator[openai.OpenAI]:
    with make_client(stub.url + "/v1") as c:
        yield c


@pytest.fixture
def closed_url() -> Iterator[str]:
    """A loopback port that is bound but not listening, so connecting is refused (and no one else can take it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1"


def chat_requests(stub: OpenAIStub) -> list[dict[str, object]]:
    return [r.body for r in stub.requests_to("/v1/chat/completions")]


# --- the script writer ---------------------------------------------------------------------------------------------


def test_good_answer_becomes_a_script(stub: OpenAIStub, client: openai.OpenAI) -> None:
    stub.reply_json(GOOD)
    script = LLMWriter(client, "stub-model").write(Brief("How black holes form", "students", "calm", 20.0))

    assert script.title == GOOD["title"]
    assert script.hook == GOOD["hook"]
    assert script.beats == tuple(GOOD["beats"])
    assert script.call_to_action == "Follow for more."
    assert script.description == GOOD["description"]
    assert script.hashtags == ("#blackholes", "#Space", "#sciencefacts")
    [request] = stub.requests_to("/v1/chat/completions")
    assert request.headers["authorization"] == "Bearer test"
    body = request.body
    assert body["model"] == "stub-model"
    assert body["response_format"] == {"type": "json_object"}
    system, user = body["messages"]
    for key in ("hook", "beats", "call_to_action", "title", "description", "hashtags"):
        assert f'"{key}"' in system["content"]
    assert "How black holes form" in user["content"] and "students" in user["content"] and "calm" in user["content"]
    assert "about 53 words" in user["content"]  # 20 s at the default 160 words a minute


def test_malformed_then_good_succeeds_with_two_requests(stub: OpenAIStub, client: openai.OpenAI) -> None:
    stub.reply_content("Sure! Here is your script: {hook: ...")
    stub.reply_json(GOOD)
    script = LLMWriter(client, "stub-model").write(Brief("How black holes form"))

    assert script.hook == GOOD["hook"]
    _, second = chat_requests(stub)
    messages = second["messages"]
    assert isinstance(messages, list) and len(messages) == 4
    assert messages[2] == {"role": "assistant", "content": "Sure! Here is your script: {hook: ..."}
    assert messages[3]["role"] == "user" and "not valid JSON" in messages[3]["content"]


BAD_ANSWERS = {
    "not json": "definitely not json",
    "array": json.dumps([GOOD]),
    "missing hook": json.dumps({k: v for k, v in GOOD.items() if k != "hook"}),
    "empty hook": json.dumps({**GOOD, "hook": "   "}),
    "beats not a list": json.dumps({**GOOD, "beats": "one long beat"}),
    "no beats": json.dumps({**GOOD, "beats": []}),
    "16 beats": json.dumps({**GOOD, "beats": [f"Beat {i}." for i in range(16)]}),
    "hashtag not a string": json.dumps({**GOOD, "hashtags": ["#ok", 3]}),
    "title not a string": json.dumps({**GOOD, "title": None}),
}


@pytest.mark.parametrize("bad", BAD_ANSWERS.values(), ids=BAD_ANSWERS.keys())
def test_malformed_twice_is_a_malformed_provider_error(stub: OpenAIStub, client: openai.OpenAI, bad: str) -> None:
    stub.reply_content(bad)
    stub.reply_content(bad)
    with pytest.raises(ProviderError) as info:
        LLMWriter(client, "stub-model").write(Brief("How black holes form"))

    assert info.value.kind == "malformed" and info.value.provider == "openai"
    assert len(chat_requests(stub)) == 2


def test_cut_off_answer_is_retried(stub: OpenAIStub, client: openai.OpenAI) -> None:
    stub.reply_content('{"title": "Stub', finish_reason="length")
    stub.reply_json(GOOD)
    assert LLMWriter(client, "stub-model").write(Brief("Black holes")).title == GOOD["title"]
    assert len(chat_requests(stub)) == 2


@pytest.mark.parametrize(
    ("status", "code", "kind", "says"),
    [
        (401, "invalid_api_key", "auth", "OPENAI_API_KEY"),
        (403, None, "auth", "OPENAI_API_KEY"),
        (429, "insufficient_quota", "quota", "insufficient_quota"),
        (429, "rate_limit_exceeded", "quota", "rate limited"),
        (500, None, "other", "HTTP 500"),
    ],
)
def test_http_errors_map_to_provider_error_kinds(
    stub: OpenAIStub, client: openai.OpenAI, status: int, code: str | None, kind: str, says: str
) -> None:
    stub.reply_error(status, f"stub says {status}", code=code)
    with pytest.raises(ProviderError) as info:
        LLMWriter(client, "stub-model").write(Brief("Black holes"))

    assert info.value.kind == kind
    assert says in str(info.value) and f"stub says {status}" in str(info.value)
    assert len(chat_requests(stub)) == 1  # provider errors are not retried by the writer


def test_connection_refused_is_a_network_error_naming_the_url(closed_url: str) -> None:
    with make_client(closed_url) as client, pytest.raises(ProviderError) as info:
        LLMWriter(client, "stub-model").write(Brief("Black holes"))

    assert info.value.kind == "network"
    assert closed_url in str(info.value)


def test_timeout_is_a_network_error(stub: OpenAIStub) -> None:
    stub.reply_hang()
    with make_client(stub.url + "/v1", timeout=0.3) as client, pytest.raises(ProviderError) as info:
        LLMWriter(client, "stub-model").write(Brief("Black holes"))

    assert info.value.kind == "network" and "timed out" in str(info.value)


def test_hook_variations(stub: OpenAIStub, client: openai.OpenAI) -> None:
    stub.reply_json({"hooks": ["Only one."]})
    stub.reply_json({"hooks": ["Why is space dark?", "Black holes bend time.", "I fell into one.", "Extra."]})
    hooks = LLMWriter(client, "stub-model").hook_variations("Black holes", 3)

    assert hooks == ["Why is space dark?", "Black holes bend time.", "I fell into one."]
    first, _ = chat_requests(stub)
    assert "exactly 3" in first["messages"][1]["content"]  # type: ignore[index]
    with pytest.raises(InvalidInputError) as info:
        LLMWriter(client, "stub-model").hook_variations("Black holes", 0)
    assert info.value.field == "count"


# --- text to speech ------------------------------------------------------------------------------------------------

SENTENCES = ["Black holes are heavy.", "They bend light around them.", "Follow for more."]


@pytest.mark.parametrize("rate", [1.0, 2.0])
def test_tts_narration_is_the_real_audio_with_timed_words(stub: OpenAIStub, client: openai.OpenAI, rate: float) -> None:
    progress: list[float] = []
    narration = OpenAISpeechEngine(client, "stub-tts").synthesize(
        SENTENCES, "nova", rate, lambda f, s: progress.append(f)
    )

    speech = stub.requests_to("/v1/audio/speech")
    assert [r.body["input"] for r in speech] == SENTENCES
    assert {(r.body["model"], r.body["voice"], r.body["response_format"], r.body["speed"]) for r in speech} == {
        ("stub-tts", "nova", "pcm", rate)
    }
    assert narration.sample_rate == PCM_SAMPLE_RATE
    spoken = sum(len(s.split()) * SECONDS_PER_WORD / rate for s in SENTENCES)
    expected = spoken + SENTENCE_PAUSE_S * (len(SENTENCES) - 1)
    assert narration.duration == pytest.approx(expected, abs=0.005)
    assert 0.28 < float(abs(narration.audio).max()) < 0.32  # the stub's tone, scaled to [-1, 1]
    words = narration.words
    assert [w.word for w in words] == " ".join(SENTENCES).split()
    assert all(w.start < w.end for w in words)
    assert all(a.end <= b.start + 1e-3 for a, b in itertools.pairwise(words))
    assert words[0].start == 0.0 and words[-1].end == pytest.approx(narration.duration, abs=0.005)
    assert progress[-1] == 1.0


def test_tts_rejects_bad_voice_and_rate_before_any_request(stub: OpenAIStub, client: openai.OpenAI) -> None:
    engine = OpenAISpeechEngine(client)
    with pytest.raises(InvalidInputError) as info:
        engine.synthesize(SENTENCES, "darth-vader", 1.0)
    assert info.value.field == "voice" and "alloy" in str(info.value)
    with pytest.raises(InvalidInputError) as info:
        engine.synthesize(SENTENCES, "alloy", 5.0)
    assert info.value.field == "rate"
    assert stub.requests == []
    assert {"alloy", "nova", "verse"} <= {v.id for v in engine.voices()}
    assert {v.engine for v in engine.voices()} == {"openai"}


def test_tts_connection_refused_is_a_network_error(closed_url: str) -> None:
    with make_client(closed_url) as client, pytest.raises(ProviderError) as info:
        OpenAISpeechEngine(client).synthesize(SENTENCES, None, 1.0)
    assert info.value.kind == "network" and closed_url in str(info.value)


# --- the CLI, end to end -------------------------------------------------------------------------------------------


@pytest.fixture
def cli_env(stub: OpenAIStub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Only the stub configured: no REELS_*/OPENAI_* from the caller's shell, no .env file."""
    for name in list(os.environ):
        if name.startswith(("REELS_", "OPENAI_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENAI_BASE_URL", stub.url + "/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "test")
    monkeypatch.setenv("REELS_OPENAI_MAX_RETRIES", "0")
    monkeypatch.setenv("REELS_SPEECH_ENGINE", "openai")
    return tmp_path


def make_args(out: Path) -> list[str]:
    return ["make", "Topic", "--size", "270x480", "--seconds", "8", "--output", str(out), "--json"]


def test_cli_make_uses_the_llm_script_and_openai_speech(
    stub: OpenAIStub, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from cluster.cli import main

    short = {**GOOD, "hook": "Black holes eat light.", "beats": ["Gravity wins."], "call_to_action": "Follow."}
    stub.reply_json(short)  # seven words, so the render stays near three seconds of video
    hooks = ["Light cannot escape.", "What eats light?", "Gravity always wins."]
    stub.reply_json({"hooks": hooks})  # the A/B hooks for the metadata come from the model too
    assert main(make_args(cli_env / "x.mp4")) == 0

    result = json.loads(capsys.readouterr().out)
    assert result["title"] == GOOD["title"] and (result["width"], result["height"]) == (270, 480)
    metadata = json.loads((cli_env / "x.json").read_text())
    assert metadata["script"]["title"] == GOOD["title"]
    assert metadata["script"]["hook"] == "Black holes eat light."
    assert (cli_env / "x.mp4").stat().st_size > 0
    assert metadata["hook_variations"] == hooks
    assert len(chat_requests(stub)) == 2
    assert len(stub.requests_to("/v1/audio/speech")) == 3  # one per sentence: hook, beat, call to action
    assert result["duration"] == pytest.approx(metadata["duration"])


def test_cli_auth_failure_exits_3_with_one_line(
    stub: OpenAIStub, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from cluster.cli import main

    stub.reply_error(401, "Incorrect API key provided", code="invalid_api_key")
    assert main(make_args(cli_env / "x.mp4")) == 3

    captured = capsys.readouterr()
    [line] = captured.err.strip().splitlines()
    assert line.startswith("reels: error:") and "auth" in line and "OPENAI_API_KEY" in line
    assert json.loads(captured.out)["exit_code"] == 3
    assert not (cli_env / "x.mp4").exists()
