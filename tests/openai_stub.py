"""A tiny OpenAI-compatible HTTP server on 127.0.0.1 whose chat answers a test scripts, and whose speech is a tone."""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

PCM_SAMPLE_RATE = 24_000
SECONDS_PER_WORD = 0.3
TONE_HZ = 440.0


@dataclass
class Reply:
    status: int
    body: bytes
    content_type: str = "application/json"
    hang: bool = False  # hold the request open until the stub stops (for client timeouts)


@dataclass
class Recorded:
    path: str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)  # names in lower case


def tone_pcm(words: int, speed: float = 1.0) -> bytes:
    """A 440 Hz tone, SECONDS_PER_WORD per word at speed 1, as 24 kHz s16le mono."""
    n = round(words * SECONDS_PER_WORD / speed * PCM_SAMPLE_RATE)
    t = np.arange(n) / PCM_SAMPLE_RATE
    return (0.3 * np.sin(2 * np.pi * TONE_HZ * t) * 32767).astype("<i2").tobytes()


class OpenAIStub:
    """Serves /v1/chat/completions from a queue of scripted replies and /v1/audio/speech as PCM tones."""

    def __init__(self) -> None:
        self.chat_replies: deque[Reply] = deque()
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.01,), name="openai-stub", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> OpenAIStub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> OpenAIStub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # Scripting the chat answers, in order.
    def reply_json(self, obj: Any) -> None:
        self.reply_content(json.dumps(obj))

    def reply_content(self, content: str, finish_reason: str = "stop") -> None:
        completion = {
            "id": f"chatcmpl-stub-{len(self.chat_replies)}",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": "stub-model",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": finish_reason,
                }
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
        self.chat_replies.append(Reply(200, json.dumps(completion).encode()))

    def reply_error(
        self, status: int, message: str, code: str | None = None, type_: str = "invalid_request_error"
    ) -> None:
        body = {"error": {"message": message, "type": type_, "param": None, "code": code}}
        self.chat_replies.append(Reply(status, json.dumps(body).encode()))

    def reply_hang(self) -> None:
        self.chat_replies.append(Reply(200, b"", hang=True))

    def requests_to(self, path: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def _record(self, rec: Recorded) -> None:
        with self._lock:
            self.requests.append(rec)

    def _next_chat(self) -> Reply:
        with self._lock:
            if self.chat_replies:
                return self.chat_replies.popleft()
        body = {"error": {"message": "stub: no chat reply queued", "type": "server_error", "code": None}}
        return Reply(500, json.dumps(body).encode())


class _Server(ThreadingHTTPServer):
    def __init__(self, stub: OpenAIStub) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.stub = stub


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        return None

    def do_POST(self) -> None:
        stub = self.server.stub
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            self._send(Reply(400, b'{"error": {"message": "stub: body is not JSON", "type": "invalid_request_error"}}'))
            return
        stub._record(Recorded(self.path, body, {k.lower(): v for k, v in self.headers.items()}))
        if self.path == "/v1/chat/completions":
            reply = stub._next_chat()
            if reply.hang:
                stub._stopping.wait()
                return
            self._send(reply)
        elif self.path == "/v1/audio/speech":
            self._send(self._speech(body))
        else:
            self._send(Reply(404, b'{"error": {"message": "stub: no such route", "type": "invalid_request_error"}}'))

    def _speech(self, body: dict[str, Any]) -> Reply:
        missing = [k for k in ("model", "voice", "input") if not body.get(k)]
        if missing or body.get("response_format") != "pcm":
            msg = f"stub: needs model, voice, input and response_format=pcm (missing {missing})"
            return Reply(400, json.dumps({"error": {"message": msg, "type": "invalid_request_error"}}).encode())
        pcm = tone_pcm(len(str(body["input"]).split()), float(body.get("speed", 1.0)))
        return Reply(200, pcm, content_type="application/octet-stream")

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)
