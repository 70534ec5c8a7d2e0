"""Redaction: secrets by type or by a whole word of their name, never ordinary counts."""

from __future__ import annotations

from pydantic import BaseModel, SecretStr

from stack_core.redact import REDACTED, redact, redact_urls, url_userinfo


def test_secret_names_are_whole_words() -> None:
    shown = redact(
        {
            "api_key": "k1",
            "apiKey": "k2",
            "access_token": "t1",
            "accessToken": "t2",
            "token": "t3",
            "password": "p",
            "client_secret": "s",
            "aws.credentials": "c",
            "max_tokens": 512,
            "chunk_size_tokens": 800,
            "tokenizer": "bpe",
            "secretary": "pat",
        }
    )
    hidden = {k for k, v in shown.items() if v == REDACTED}
    assert hidden == {
        "api_key",
        "apiKey",
        "access_token",
        "accessToken",
        "token",
        "password",
        "client_secret",
        "aws.credentials",
    }


def test_secret_str_is_hidden_whatever_its_name() -> None:
    class Config(BaseModel):
        url: str = "http://x"
        key_material: SecretStr = SecretStr("s")
        max_tokens: int = 5

    assert redact(Config()) == {"url": "http://x", "key_material": REDACTED, "max_tokens": 5}


def test_url_credentials_are_hidden_wherever_they_appear() -> None:
    text = "cannot reach postgresql+asyncpg://app:s3cret@db:5432/stack or https://tok@host/v1"
    assert redact_urls(text) == (
        f"cannot reach postgresql+asyncpg://{REDACTED}@db:5432/stack or https://{REDACTED}@host/v1"
    )
    assert redact({"url": "http://u:p@h/v1", "note": "mail me@example.com"}) == {
        "url": f"http://{REDACTED}@h/v1",
        "note": "mail me@example.com",
    }
    assert url_userinfo("http://u:p@h") and not url_userinfo("http://h/v1?x=a@b")
