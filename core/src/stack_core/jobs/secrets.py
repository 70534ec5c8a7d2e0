"""A job's secrets: credentials its runner needs (an MCP server's authorization, say), kept out of
its params, sealed with AES-GCM beside the job and deleted when the job ends.

The key is ``STACK_SECRETS_KEY`` (32 bytes, URL-safe base64) when it is set, and replicas sharing
a database must share it; otherwise a key file made on first use (``secrets.key`` in the stack's
state directory, mode 0600), or, with no directory, a key for this process's life. A job's id is
bound into its sealed secrets, which therefore open for that job only.
"""

from __future__ import annotations

import base64
import binascii
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..errors import ConfigError, StackError

__all__ = ["KEY_VARIABLE", "Sealer", "SecretsUnreadableError"]

KEY_VARIABLE = "STACK_SECRETS_KEY"


class SecretsUnreadableError(StackError):
    """Sealed secrets this process cannot open (another key sealed them)."""


class Sealer:
    def __init__(self, key_file: Path | None = None) -> None:
        self.key_file = key_file
        self._aead: AESGCM | None = None

    def _cipher(self) -> AESGCM:
        if self._aead is None:
            self._aead = AESGCM(self._key())
        return self._aead

    def _key(self) -> bytes:
        given = os.environ.get(KEY_VARIABLE)
        if given:
            try:
                key = base64.urlsafe_b64decode(given.encode() + b"=" * (-len(given) % 4))
            except (binascii.Error, ValueError):
                key = b""
            if len(key) != 32:
                raise ConfigError(
                    f"{KEY_VARIABLE} must be 32 bytes in URL-safe base64 (e.g. from `openssl rand -base64 32`)."
                )
            return key
        if self.key_file is None:
            return AESGCM.generate_key(bit_length=256)
        try:
            descriptor = os.open(self.key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            for _ in range(50):  # another worker may be writing it this moment
                key = self.key_file.read_bytes()
                if len(key) == 32:
                    return key
                time.sleep(0.01)
            raise ConfigError(
                f"{self.key_file} is not a 32-byte key: delete it, or set {KEY_VARIABLE}."
            ) from None
        key = AESGCM.generate_key(bit_length=256)
        with os.fdopen(descriptor, "wb") as out:
            out.write(key)
        return key

    def seal(self, job_id: str, secrets: Mapping[str, Any]) -> str:
        nonce = os.urandom(12)
        sealed = self._cipher().encrypt(nonce, orjson.dumps(dict(secrets)), job_id.encode())
        return base64.b64encode(nonce + sealed).decode()

    def open(self, job_id: str, sealed: str) -> dict[str, Any]:
        raw = base64.b64decode(sealed)
        try:
            opened: dict[str, Any] = orjson.loads(self._cipher().decrypt(raw[:12], raw[12:], job_id.encode()))
        except InvalidTag:
            raise SecretsUnreadableError(
                f"The secrets of job '{job_id}' were sealed with another key: replicas sharing a "
                f"database must share {KEY_VARIABLE}.",
                code="secrets_unreadable",
            ) from None
        return opened
