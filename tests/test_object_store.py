"""The object store's two backends, the S3 one against a real S3-compatible server (SeaweedFS, which checks SigV4
signatures and presigned-link expiry), and the node cache that workers read objects through."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import EndpointConnectionError

from actors.decisions import is_permanent
from actors.node_cache import NodeCache
from actors.object_store import (
    LocalStore,
    ObjectMissingError,
    ObjectStore,
    S3Settings,
    S3Store,
    StorageError,
    check_key,
    open_store,
)
from tests.seaweed import LocalS3
from tests.services import wait_for


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalS3]:
    server = LocalS3(tmp_path_factory.mktemp("seaweed"))
    server.start()
    yield server
    server.stop()


def _bucket(s3: LocalS3) -> str:
    name = f"reels-{secrets.token_hex(4)}"
    s3.client().create_bucket(Bucket=name)
    return name


def _s3_store(s3: LocalS3, monkeypatch: pytest.MonkeyPatch, **env: str) -> S3Store:
    for k, v in {**s3.env(_bucket(s3)), **env}.items():
        monkeypatch.setenv(k, v)
    store = open_store("unused")
    assert isinstance(store, S3Store)
    return store


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ObjectStore:
    if request.param == "local":
        monkeypatch.delenv("REELS_S3_BUCKET", raising=False)
        return open_store(tmp_path / "data")
    return _s3_store(request.getfixturevalue("s3"), monkeypatch)


def _fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, Any]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=10) as r:
            return r.status, r.read(), r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers


def test_files_go_in_and_come_back_whole_on_both_backends(store: ObjectStore, tmp_path: Path) -> None:
    src = tmp_path / "in.bin"
    src.write_bytes(secrets.token_bytes(300_000))
    store.put_file("outputs/alice/t1/reel.mp4", src, filename="reel.mp4")
    store.put_bytes("outputs/alice/t1/reel.srt", b"1\n00:00:00,000 --> 00:00:01,000\nhi\n")
    store.put_bytes("outputs/bob/t2/reel.srt", b"x")
    got = tmp_path / "out" / "reel.mp4"
    store.get_file("outputs/alice/t1/reel.mp4", got)
    assert got.read_bytes() == src.read_bytes()
    assert store.exists("outputs/alice/t1/reel.srt") and not store.exists("outputs/alice/t1/nope")
    assert store.keys("outputs/alice") == ["outputs/alice/t1/reel.mp4", "outputs/alice/t1/reel.srt"]
    assert store.delete(store.keys("outputs/alice/t1")) == 2
    assert store.keys("outputs") == ["outputs/bob/t2/reel.srt"]
    with pytest.raises(ObjectMissingError, match=re.escape("outputs/alice/t1/reel.mp4")):
        store.get_file("outputs/alice/t1/reel.mp4", tmp_path / "gone.mp4")
    assert not (tmp_path / "gone.mp4").exists() and list((tmp_path / "out").iterdir()) == [got]  # no .part left


@pytest.mark.parametrize("key", ["", "/abs", "a/../b", "a//b", "a\\b", "./a"])
def test_keys_that_could_leave_the_store_are_refused(key: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="invalid object key"):
        check_key(key)
    with pytest.raises(ValueError):
        LocalStore(tmp_path).put_bytes(key, b"x")


def test_the_prefix_setting_puts_every_key_under_it(s3: LocalS3, monkeypatch: pytest.MonkeyPatch) -> None:
    store = _s3_store(s3, monkeypatch, REELS_S3_PREFIX="/team-a/")
    store.put_bytes("artifacts/ab/abc.wav", b"RIFF")
    raw = s3.client().list_objects_v2(Bucket=store.settings.bucket)
    assert [o["Key"] for o in raw["Contents"]] == ["team-a/artifacts/ab/abc.wav"]
    assert store.keys("artifacts") == ["artifacts/ab/abc.wav"]


def test_large_files_go_up_in_parts_with_their_type_and_download_name(
    s3: LocalS3, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    store = _s3_store(s3, monkeypatch)
    store.transfer = TransferConfig(multipart_threshold=5 << 20, multipart_chunksize=5 << 20)  # S3's smallest part
    src = tmp_path / "big.mp4"
    src.write_bytes(secrets.token_bytes(12 << 20))
    store.put_file("outputs/alice/t1/reel.mp4", src, filename="Volcanoes – part 1.mp4")
    head = s3.client().head_object(Bucket=store.settings.bucket, Key="outputs/alice/t1/reel.mp4")
    assert head["ETag"].strip('"').endswith("-3")  # three parts
    assert head["ContentType"] == "video/mp4" and head["ContentLength"] == 12 << 20
    assert "filename*=UTF-8''Volcanoes%20%E2%80%93%20part%201.mp4" in head["ContentDisposition"]
    back = tmp_path / "back.mp4"
    store.get_file("outputs/alice/t1/reel.mp4", back)
    assert hashlib.sha256(back.read_bytes()).digest() == hashlib.sha256(src.read_bytes()).digest()


def test_an_upload_that_fails_midway_leaves_no_object_and_no_open_upload(
    s3: LocalS3, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    store = _s3_store(s3, monkeypatch)
    store.transfer = TransferConfig(multipart_threshold=5 << 20, multipart_chunksize=5 << 20, max_concurrency=1)
    parts = []

    def fails_after_the_first_part(request: Any, **_: Any) -> None:
        parts.append(1)
        if len(parts) >= 2:  # the network goes away, for every retry too
            raise EndpointConnectionError(endpoint_url=request.url)

    store.client.meta.events.register("before-send.s3.UploadPart", fails_after_the_first_part)
    src = tmp_path / "big.mp4"
    src.write_bytes(secrets.token_bytes(15 << 20))
    with pytest.raises(StorageError) as caught:
        store.put_file("outputs/alice/t1/reel.mp4", src)
    assert caught.value.kind == "network" and not is_permanent(caught.value)  # the stage retries
    raw = s3.client()
    assert "Contents" not in raw.list_objects_v2(Bucket=store.settings.bucket)
    assert not raw.list_multipart_uploads(Bucket=store.settings.bucket).get("Uploads")


def test_download_links_are_signed_ranged_and_expire(s3: LocalS3, monkeypatch: pytest.MonkeyPatch) -> None:
    store = _s3_store(s3, monkeypatch, REELS_S3_URL_EXPIRY_S="2")
    body = secrets.token_bytes(100_000)
    store.put_bytes("outputs/alice/t1/reel.mp4", body)
    url = store.url("outputs/alice/t1/reel.mp4", filename="reel.mp4")
    status, got, headers = _fetch(url)
    assert (status, got) == (200, body) and headers["Content-Disposition"] == 'attachment; filename="reel.mp4"'
    status, got, headers = _fetch(url, {"Range": "bytes=1000-1999"})
    assert (status, got) == (206, body[1000:2000]) and headers["Content-Range"] == "bytes 1000-1999/100000"
    tampered = url.replace("outputs/alice", "outputs/bob")
    assert _fetch(tampered)[0] == 403
    forged = url.replace("X-Amz-Signature=", "X-Amz-Signature=0")
    assert _fetch(forged)[0] == 403
    assert wait_for(lambda: _fetch(url)[0] == 403, timeout=30)  # once the 2 s have passed on the server's clock


def test_a_cdn_base_url_replaces_the_presigned_links(s3: LocalS3, monkeypatch: pytest.MonkeyPatch) -> None:
    store = _s3_store(s3, monkeypatch, REELS_PUBLIC_BASE_URL="https://cdn.example.com/", REELS_S3_PREFIX="p")
    assert store.url("outputs/a b/t1/reel.mp4") == "https://cdn.example.com/p/outputs/a%20b/t1/reel.mp4"


def test_refused_credentials_are_not_retried_and_an_unreachable_store_is(
    s3: LocalS3, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _s3_store(s3, monkeypatch, AWS_SECRET_ACCESS_KEY="wrong")
    with pytest.raises(StorageError) as caught:
        store.put_bytes("k", b"x")
    assert caught.value.kind == "auth" and is_permanent(caught.value)
    assert "credentials" in str(caught.value)
    gone = S3Store(S3Settings("reels", endpoint_url="http://127.0.0.1:9", region="us-east-1"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "a")
    with pytest.raises(StorageError) as caught:
        gone.exists("k")
    assert caught.value.kind == "network" and not is_permanent(caught.value)


def test_settings_name_what_is_wrong(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert S3Settings.from_env({}) is None
    assert isinstance(open_store(tmp_path, {}), LocalStore)
    with pytest.raises(ValueError, match="REELS_S3_URL_EXPIRY_S"):
        S3Settings.from_env({"REELS_S3_BUCKET": "b", "REELS_S3_URL_EXPIRY_S": "soon"})


def _counting(store: S3Store) -> list[str]:
    calls: list[str] = []
    store.client.meta.events.register("before-send.s3", lambda request, **_: calls.append(request.method))
    return calls


def test_a_cache_hit_makes_no_request_and_a_changed_copy_is_fetched_again(
    s3: LocalS3, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    store = _s3_store(s3, monkeypatch)
    body = secrets.token_bytes(50_000)
    digest = hashlib.sha256(body).hexdigest()
    store.put_bytes("uploads/alice/clip.mp4", body)
    calls, cache = _counting(store), NodeCache(store, tmp_path / "cache")
    first = cache.fetch("uploads/alice/clip.mp4", digest)
    assert first.read_bytes() == body and calls
    calls.clear()
    assert cache.fetch("uploads/alice/clip.mp4", digest) == first and calls == []  # no round trip
    first.write_bytes(b"changed on disk")
    assert cache.fetch("uploads/alice/clip.mp4", digest).read_bytes() == body and calls  # fetched again
    with pytest.raises(StorageError, match="do not match"):
        cache.fetch("uploads/alice/clip.mp4", "0" * 64)
    assert not first.exists()  # a copy that does not match is never left to be used


def test_the_cache_keeps_within_its_size_dropping_the_least_recently_used(
    s3: LocalS3, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    store = _s3_store(s3, monkeypatch)
    blobs = {f"a/{i}": secrets.token_bytes(40_000) for i in range(4)}
    for key, body in blobs.items():
        store.put_bytes(key, body)
    cache = NodeCache(store, tmp_path / "cache", max_bytes=100_000)
    sums = {k: hashlib.sha256(b).hexdigest() for k, b in blobs.items()}
    for age, key in ((200, "a/0"), (100, "a/1")):  # a/0 fetched first, a/1 after it
        os.utime(cache.fetch(key, sums[key]), (time.time() - age, time.time() - age))
    cache.fetch("a/0", sums["a/0"])  # a/0 used again: a/1 is now the least recent
    cache.fetch("a/2", sums["a/2"])
    kept = sorted(p.name for p in (tmp_path / "cache" / "a").iterdir())
    assert kept == ["0", "2"]


def test_a_local_store_is_read_in_place(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "objects")
    store.put_bytes("a/b.wav", b"RIFF")
    cache = NodeCache(store, tmp_path / "cache")
    assert cache.fetch("a/b.wav", hashlib.sha256(b"RIFF").hexdigest()) == tmp_path / "objects" / "a" / "b.wav"
