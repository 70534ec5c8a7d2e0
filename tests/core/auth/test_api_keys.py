"""API keys: generated, stored hashed, verified, revoked; config keys; a broken store is a 503."""

from __future__ import annotations

from pathlib import Path

import pytest

from stack_core.auth.api_key import ApiKeyAuthConfig, ApiKeyAuthenticator
from stack_core.auth.keystore import KeyStore, hash_key, key_id
from stack_core.config import StoreConfig
from stack_core.errors import AuthenticationError, ProviderUnavailableError
from stack_core.hookspecs import RequestInfo
from stack_core.storage import Database

REQUEST = RequestInfo(path="/v1/models", headers={}, params={})


def stored_bytes(directory: Path) -> bytes:
    return b"".join(f.read_bytes() for f in directory.glob("keys.db*"))


def test_key_ids() -> None:
    assert (
        key_id("sk-stack-0123abcd-secret") == key_id("sk-stack-0123abcd") == key_id("0123abcd") == "0123abcd"
    )
    assert key_id("sk-stack-0123abcdX") is None and key_id("sk-stack-zz") is None


async def test_store_keeps_only_hashes_and_revocation_is_immediate(tmp_path: Path) -> None:
    database = Database(StoreConfig(), tmp_path / "keys.db")
    store = KeyStore(database)
    await store.open()
    record, key = await store.create("alice", {"roles": ["admin"]})
    auth = ApiKeyAuthenticator(ApiKeyAuthConfig(), store)
    try:
        assert (await auth.authenticate(key, REQUEST)).attributes == {"roles": ["admin"]}
        stored = stored_bytes(tmp_path)
        assert key.encode() not in stored and hash_key(key).encode() in stored
        assert await store.revoke(record.id) and not await store.revoke(record.id)
        with pytest.raises(AuthenticationError):
            await auth.authenticate(key, REQUEST)
    finally:
        await database.close()


async def test_config_keys_and_an_unreadable_store(tmp_path: Path) -> None:
    config = ApiKeyAuthConfig(keys=[{"key_hash": hash_key("k-1"), "principal": "bob"}])  # type: ignore[list-item]
    database = Database(StoreConfig(), tmp_path / "empty.db")
    auth = ApiKeyAuthenticator(config, KeyStore(database))  # table never created
    try:
        assert (await auth.authenticate("k-1", REQUEST)).principal == "bob"
        with pytest.raises(ProviderUnavailableError):
            await auth.authenticate("sk-stack-0123abcd-nope", REQUEST)
    finally:
        await database.close()
