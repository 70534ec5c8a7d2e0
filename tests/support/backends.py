"""Fixtures' building blocks: the fake backend in a subprocess and a Stack in front of it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fake_backend import spawn_fake_backend

from stack_core.auth.keystore import hash_key
from stack_core.testing import StackServer

USERS: dict[str, dict[str, list[str]]] = {
    "alice": {"teams": ["ml"]},
    "bob": {"teams": ["web"]},
    "root": {"roles": ["admin"]},
}


@contextmanager
def fake_backend(**options: Any) -> Iterator[str]:
    """A fake OpenAI/Ollama backend process; yields its URL (no /v1)."""
    url, process = spawn_fake_backend(**options)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(10)


@contextmanager
def stack_server(config: dict[str, Any], home: Path, **kwargs: Any) -> Iterator[StackServer]:
    """``stack run`` on a free port with its own STACK_HOME."""
    env = {"STACK_HOME": str(home), **kwargs.pop("env", {})}
    with StackServer(config, env=env, **kwargs) as server:
        yield server


def inference_config(*providers: tuple[str, str, dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """A run config with the given (provider_id, provider_type, config) inference providers."""
    entries = [{"provider_id": pid, "provider_type": ptype, "config": cfg} for pid, ptype, cfg in providers]
    return {"version": 2, "apis": ["inference"], "providers": {"inference": entries}, **extra}


def api_key_auth(users: dict[str, dict[str, list[str]]] = USERS) -> dict[str, Any]:
    """``server.auth`` with static API keys: user ``<name>`` authenticates as ``Bearer sk-<name>``."""
    keys = [{"key_hash": hash_key(f"sk-{u}"), "principal": u, "attributes": a} for u, a in users.items()]
    return {"provider_config": {"type": "api_key", "keys": keys, "database": False}}


def as_user(name: str) -> dict[str, str]:
    """The headers of a request by ``name`` under ``api_key_auth``."""
    return {"authorization": f"Bearer sk-{name}"}


def full_config(backend: str, **server: Any) -> dict[str, Any]:
    """Every kind of thing a client can reach, over the fake backend (models ``m`` and ``embed``,
    384 dimensions): chat, embeddings, a vector DB (``docs``, faiss), files, vector stores and a
    regex shield (``guard``)."""

    def entry(pid: str, provider_type: str, **config: Any) -> list[dict[str, Any]]:
        return [{"provider_id": pid, "provider_type": provider_type, "config": config}]

    return {
        "version": 2,
        "providers": {
            "inference": entry("vllm", "remote::vllm", url=f"{backend}/v1"),
            "safety": entry("regex", "inline::regex"),
            "vector_io": entry("faiss", "inline::faiss"),
            "files": entry("files", "inline::localfs"),
            "vector_stores": entry("stores", "inline::vector-stores"),
        },
        "models": [
            {
                "model_id": "embed",
                "provider_id": "vllm",
                "model_type": "embedding",
                "metadata": {"embedding_dimension": 384},
            }
        ],
        "shields": [{"shield_id": "guard", "provider_id": "regex"}],
        "vector_dbs": [{"vector_db_id": "docs", "embedding_model": "embed", "embedding_dimension": 384}],
        "server": server,
    }
