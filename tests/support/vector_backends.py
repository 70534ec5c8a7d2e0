"""Fixtures' building blocks for vector providers: run configs, restartable servers, a Chroma server."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from stack_core.testing import StackServer, Target, free_port

EMBEDDING_MODEL = "all-MiniLM-L6-v2"


def vector_config(provider_type: str, config: dict[str, Any], provider_id: str = "vectors") -> dict[str, Any]:
    """A run config: MiniLM embeddings (sentence-transformers) and one vector_io provider."""
    return {
        "version": 2,
        "apis": ["inference", "vector_io"],
        "providers": {
            "inference": [{"provider_id": "st", "provider_type": "inline::sentence-transformers"}],
            "vector_io": [{"provider_id": provider_id, "provider_type": provider_type, "config": config}],
        },
    }


def restartable_target(server: StackServer, provider_id: str = "vectors") -> Target:
    """A conformance target whose ``restart`` stops the server and starts it again on the same port
    and state directory."""

    def restart() -> str:
        server.stop()
        server.start()
        return server.url

    return Target(
        url=server.url,
        embedding_model=EMBEDDING_MODEL,
        embedding_dimension=384,
        extra={"provider_id": provider_id, "restart": restart},
    )


@contextmanager
def chroma_server(path: Path, startup_timeout: float = 60.0) -> Iterator[str]:
    """``chroma run`` from the installed chromadb package; yields its URL."""
    port = free_port()
    chroma = Path(sys.executable).parent / "chroma"
    log = (path.parent / "chroma.log").open("wb")
    process = subprocess.Popen(
        [str(chroma), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"chroma run exited: {(path.parent / 'chroma.log').read_text()}")
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("chroma run did not answer in time")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(15)
        log.close()
