"""Background responses over `stack run` with the openai SDK: queued at once and completed by a
durable job (polled), cancelled, refused with stream or without store, resumed after a restart."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from backends import stack_server
from openai.types.responses import Response
from responses_stack import MODEL, responses_config, sdk


def control(backend: str, **settings: Any) -> None:
    httpx.post(f"{backend}/__control", json=settings).raise_for_status()


def poll(client: openai.OpenAI, response_id: str, until: tuple[str, ...], timeout: float = 30) -> Response:
    deadline = time.monotonic() + timeout
    while (response := client.responses.retrieve(response_id)).status not in until:
        assert time.monotonic() < deadline, f"still {response.status}"
        time.sleep(0.05)
    return response


def test_a_background_response_is_queued_then_completed(client: openai.OpenAI) -> None:
    made = client.responses.create(model=MODEL, input="in the background", background=True)
    assert made.status in ("queued", "in_progress") and made.background and made.output == []
    done = poll(client, made.id, ("completed", "failed"))
    assert done.status == "completed" and done.output_text == f"[{MODEL}] echo: in the background"
    assert [i.type for i in client.responses.input_items.list(made.id).data] == ["message"]


def test_a_background_response_is_cancelled(client: openai.OpenAI, backend: str) -> None:
    control(backend, latency_ms=3000)
    try:
        made = client.responses.create(model=MODEL, input="take your time", background=True)
        poll(client, made.id, ("in_progress",))  # its job is running
        cancelled = client.responses.cancel(made.id)
        assert cancelled.status == "cancelled"
        time.sleep(0.5)
        assert client.responses.retrieve(made.id).status == "cancelled"
        queued = client.responses.create(model=MODEL, input="never run", background=True)
        assert client.responses.cancel(queued.id).status == "cancelled"
    finally:
        control(backend, reset=True)


def test_background_needs_store_and_no_stream_and_only_it_cancels(client: openai.OpenAI) -> None:
    for wrong in ({"stream": True}, {"store": False}):
        with pytest.raises(openai.BadRequestError, match="background"):
            client.responses.create(model=MODEL, input="x", background=True, **wrong)  # type: ignore[call-overload]
    plain = client.responses.create(model=MODEL, input="in the foreground")
    with pytest.raises(openai.BadRequestError, match="background"):
        client.responses.cancel(plain.id)


def test_a_background_response_resumes_after_a_restart(backend: str, tmp_path: Path) -> None:
    config = responses_config(backend)
    control(backend, latency_ms=2000)
    try:
        with stack_server(config, tmp_path) as server, sdk(server) as client:
            made = client.responses.create(model=MODEL, input="outlive the server", background=True)
            poll(client, made.id, ("in_progress",))
        control(backend, reset=True)
        with stack_server(config, tmp_path) as server, sdk(server) as client:
            done = poll(client, made.id, ("completed", "failed", "cancelled"))
    finally:
        control(backend, reset=True)
    assert done.status == "completed" and done.output_text == f"[{MODEL}] echo: outlive the server"
