"""One test per rule of the run-config guide's env substitution, including its examples."""

from __future__ import annotations

import pytest

from stack_core.config import load_config
from stack_core.envsubst import substitute
from stack_core.errors import ConfigError


def sub(value: object, **env: str) -> object:
    return substitute({"v": value}, env).value["v"]


def test_plain_variable() -> None:
    assert sub("${env.API_KEY}", API_KEY="sk-123") == "sk-123"


def test_unset_variable_is_an_error_naming_it_and_the_path() -> None:
    with pytest.raises(ConfigError, match=r"v: environment variable SERVICE_URL is not set"):
        sub("${env.SERVICE_URL}")


def test_default_used_when_unset() -> None:
    assert sub("${env.OLLAMA_URL:=http://localhost:11434}") == "http://localhost:11434"


def test_default_ignored_when_set() -> None:
    assert (
        sub("${env.OLLAMA_URL:=http://localhost:11434}", OLLAMA_URL="http://gpu:11434") == "http://gpu:11434"
    )


def test_default_used_when_set_but_empty() -> None:
    assert sub("${env.OLLAMA_URL:=http://x}", OLLAMA_URL="") == "http://x"


def test_empty_default_is_none() -> None:
    assert sub("${env.OLLAMA_URL:=}") is None


def test_conditional_value_when_set() -> None:
    assert sub("${env.ENVIRONMENT:+production}", ENVIRONMENT="yes") == "production"


def test_conditional_value_when_unset_is_none() -> None:
    assert sub("${env.ENVIRONMENT:+production}") is None


def test_empty_conditional_is_none() -> None:
    assert sub("${env.OPTIONAL_TOKEN:+}") is None
    assert sub("${env.TOKEN:+}", TOKEN="abc") is None


def test_conditional_true_flag() -> None:
    assert sub("${env.DEBUG:+true}", DEBUG="1") is True


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${env.PORT:=8321}", 8321),
        ("${env.TIMEOUT:=60}", 60),
        ("${env.DEBUG:=false}", False),
        ("${env.RATIO:=0.5}", 0.5),
        ("${env.ON:=True}", True),
    ],
)
def test_typed_defaults(text: str, expected: object) -> None:
    value = sub(text)
    assert value == expected and type(value) is type(expected)


def test_typed_env_values() -> None:
    assert sub("${env.PORT}", PORT="9000") == 9000


def test_interpolation_inside_a_longer_string_stays_a_string() -> None:
    assert sub("${env.DIR:=~/.stack}/registry.db") == "~/.stack/registry.db"
    assert sub("http://${env.HOST}:${env.PORT}/v1", HOST="h", PORT="1") == "http://h:1/v1"


def test_nested_structures_are_walked() -> None:
    tree = {"a": [{"b": "${env.X}"}], "c": {"d": "${env.Y:=2}"}}
    assert substitute(tree, {"X": "x"}).value == {"a": [{"b": "x"}], "c": {"d": 2}}


def test_disabled_model_is_not_registered() -> None:
    text = """
models:
- metadata: {}
  model_id: ${env.INFERENCE_MODEL:__disabled__}
  provider_id: ollama
  provider_model_id: ${env.INFERENCE_MODEL:__disabled__}
"""
    assert load_config(text, env={}).models == []
    kept = load_config(text, env={"INFERENCE_MODEL": "llama3"}).models
    assert kept[0]["model_id"] == "llama3"


def test_disabled_provider_is_skipped() -> None:
    text = """
providers:
  inference:
  - provider_id: ${env.VLLM_URL:+vllm}
    provider_type: remote::vllm
  - provider_id: ${env.ENABLE_OLLAMA:=__disabled__}
    provider_type: remote::ollama
"""
    assert load_config(text, env={}).providers["inference"] == []
    enabled = load_config(text, env={"VLLM_URL": "http://x", "ENABLE_OLLAMA": "ollama"}).providers[
        "inference"
    ]
    assert [p.provider_id for p in enabled] == ["vllm", "ollama"]


def test_string_field_keeps_its_text_when_value_looks_typed() -> None:
    text = "server:\n  host: ${env.HOST}\n"
    assert load_config(text, env={"HOST": "1234"}).server.host == "1234"


def test_cli_env_override(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    from stack_core.cli import _apply_env

    monkeypatch.delenv("API_KEY", raising=False)
    _apply_env(["API_KEY=sk-123", "BASE_URL=https://custom-api.com"])
    import os

    assert os.environ["API_KEY"] == "sk-123"
    assert os.environ["BASE_URL"] == "https://custom-api.com"
    monkeypatch.delenv("API_KEY")
    monkeypatch.delenv("BASE_URL")
