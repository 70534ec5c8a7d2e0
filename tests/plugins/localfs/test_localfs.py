"""inline::localfs: the openai SDK's files resource against `stack run`, limits, ownership."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from auth_endpoint import spawn_auth_endpoint
from backends import stack_server

from stack_core.testing import StackServer


def files_config(**server: object) -> dict[str, object]:
    provider = {
        "provider_id": "files",
        "provider_type": "inline::localfs",
        "config": {"max_file_bytes": 1000},
    }
    return {"version": 2, "providers": {"files": [provider]}, "server": server}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackServer]:
    with stack_server(files_config(), tmp_path_factory.mktemp("home")) as server:
        yield server


@pytest.fixture
def client(server: StackServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused") as client:
        yield client


def test_openai_sdk_upload_list_retrieve_content_delete(client: openai.OpenAI) -> None:
    created = client.files.create(
        file=("notes.txt", io.BytesIO(b"hello files"), "text/plain"), purpose="assistants"
    )
    assert created.bytes == 11 and created.filename == "notes.txt" and created.id.startswith("file-")
    assert created.id in {f.id for f in client.files.list()}
    assert client.files.retrieve(created.id).purpose == "assistants"
    assert client.files.content(created.id).read() == b"hello files"
    assert client.files.delete(created.id).deleted
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(created.id)


def test_pagination(client: openai.OpenAI) -> None:
    ids = [
        client.files.create(file=(f"{i}.txt", io.BytesIO(b"x"), "text/plain"), purpose="batch").id
        for i in range(3)
    ]
    first = client.files.list(limit=2, order="asc", purpose="batch")
    assert [f.id for f in first.data] == ids[:2] and first.has_more
    rest = client.files.list(limit=2, order="asc", purpose="batch", after=ids[1])
    assert [f.id for f in rest.data] == ids[2:]


def test_too_large_empty_and_bad_purpose_are_refused(server: StackServer) -> None:
    url = f"{server.url}/v1/files"
    big = httpx.post(url, files={"file": ("big.bin", b"x" * 1001)}, data={"purpose": "assistants"})
    assert big.status_code == 413 and "limit is 1000 bytes" in big.json()["error"]["message"]
    empty = httpx.post(url, files={"file": ("e.txt", b"")}, data={"purpose": "assistants"})
    assert empty.status_code == 400 and "empty" in empty.json()["error"]["message"]
    purpose = httpx.post(url, files={"file": ("a.txt", b"a")}, data={"purpose": "nope"})
    assert purpose.status_code == 400 and purpose.json()["error"]["param"] == "purpose"
    missing = httpx.post(url, data={"purpose": "assistants"})
    assert missing.status_code == 400 and "'file'" in missing.json()["error"]["message"]
    assert all(f["bytes"] > 0 for f in httpx.get(url).json()["data"])


def test_files_survive_restart_and_belong_to_their_owner(tmp_path: Path) -> None:
    tokens = {
        "ta": {"principal": "alice", "access_attributes": {"teams": ["a"]}},
        "tb": {"principal": "bob", "access_attributes": {"teams": ["b"]}},
    }
    auth_url, auth = spawn_auth_endpoint(tokens, accept_all=False)
    config = files_config(auth={"provider_config": {"type": "custom", "endpoint": f"{auth_url}/validate"}})
    alice, bob = {"authorization": "Bearer ta"}, {"authorization": "Bearer tb"}
    try:
        with stack_server(config, tmp_path) as server:
            created = httpx.post(
                f"{server.url}/v1/files",
                files={"file": ("a.txt", b"secret")},
                data={"purpose": "assistants"},
                headers=alice,
            ).json()
        with stack_server(config, tmp_path) as server:
            url = f"{server.url}/v1/files/{created['id']}"
            assert httpx.get(f"{url}/content", headers=alice).content == b"secret"
            assert httpx.get(url, headers=bob).status_code == 404
            assert httpx.delete(url, headers=bob).status_code == 404
            assert httpx.get(f"{server.url}/v1/files", headers=bob).json()["data"] == []
    finally:
        auth.terminate()
        auth.wait()


def rss(server: StackServer) -> int:
    assert server.process is not None
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS"))) * 1024


def test_uploads_stream_to_disk_under_their_own_limit(tmp_path: Path) -> None:
    config = files_config(max_request_bytes=1000)
    config["providers"]["files"][0]["config"] = {"max_file_bytes": 64 * 1024 * 1024}  # type: ignore[index]
    with stack_server(config, tmp_path) as server:
        url = f"{server.url}/v1/files"
        httpx.post(url, files={"file": ("warm.txt", b"x" * 100_000)}, data={"purpose": "assistants"})
        before = rss(server)
        big = httpx.post(url, files={"file": ("big.bin", b"x" * 40_000_000)}, data={"purpose": "assistants"})
        grown = rss(server) - before
        json_body = httpx.post(f"{server.url}/v1/files/x", json={"pad": "x" * 2000})
    assert big.status_code == 200 and big.json()["bytes"] == 40_000_000
    assert grown < 20 * 1024 * 1024
    assert json_body.status_code == 413


def test_content_a_crash_left_without_metadata_is_swept_at_start(tmp_path: Path) -> None:
    storage = tmp_path / "files"
    config = files_config()
    config["providers"]["files"][0]["config"] = {"storage_dir": str(storage), "upload_deadline": 60}  # type: ignore[index]
    with stack_server(config, tmp_path / "home") as server:
        kept = httpx.post(
            f"{server.url}/v1/files", files={"file": ("a.txt", b"a")}, data={"purpose": "assistants"}
        ).json()["id"]
    old = os.stat(storage / kept).st_mtime - 3600
    for name in ("file-orphan", "file-interrupted.part", "file-fresh"):
        (storage / name).write_bytes(b"left over")
    for name in (kept, "file-orphan", "file-interrupted.part"):
        os.utime(storage / name, (old, old))
    with stack_server(config, tmp_path / "home") as server:
        content = httpx.get(f"{server.url}/v1/files/{kept}/content")
    assert content.content == b"a"
    assert sorted(p.name for p in storage.iterdir()) == sorted([kept, "file-fresh"])
