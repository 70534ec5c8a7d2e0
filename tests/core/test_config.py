from __future__ import annotations

from pathlib import Path

import pytest

from stack_core.config import load_config
from stack_core.errors import ConfigError

SEED_SAMPLE = """
version: 2
conda_env: ollama
apis:
- inference
providers:
  inference:
  - provider_id: ollama
    provider_type: remote::ollama
    config:
      url: ${env.OLLAMA_URL:=http://localhost:11434}
metadata_store:
  namespace: null
  type: sqlite
  db_path: ${env.SQLITE_STORE_DIR:=~/.llama/distributions/ollama}/registry.db
models:
- metadata: {}
  model_id: ${env.INFERENCE_MODEL}
  provider_id: ollama
  provider_model_id: null
shields: []
server:
  port: 8321
  auth:
    provider_config:
      type: "oauth2_token"
      jwks:
        uri: "https://my-token-issuing-svc.com/jwks"
"""


def test_seed_sample_parses() -> None:
    config = load_config(SEED_SAMPLE, env={"INFERENCE_MODEL": "llama3.2:3b"})
    assert config.providers["inference"][0].config["url"] == "http://localhost:11434"
    assert config.models[0]["model_id"] == "llama3.2:3b"
    assert config.server.auth is not None and config.server.auth.provider_config["type"] == "oauth2_token"


def test_errors_name_the_yaml_path() -> None:
    text = "server:\n  port: lots\nproviders:\n  inference:\n  - provider_type: remote::x\n"
    with pytest.raises(ConfigError) as exc:
        load_config(text, env={})
    assert "server.port: Input should be a valid integer" in exc.value.message
    assert "providers.inference[0].provider_id: Field required" in exc.value.message


def test_unknown_field_is_named() -> None:
    with pytest.raises(ConfigError, match=r"servr: unknown field"):
        load_config("servr: {}\n", env={})


def test_missing_file() -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config("/nonexistent/run.yaml")


def test_invalid_yaml(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text("providers: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)


def test_quota_section_from_the_seed() -> None:
    text = """
server:
  quota:
    kvstore:
      type: sqlite
      db_path: ./quotas.db
    anonymous_max_requests: 100
    authenticated_max_requests: 1000
    period: day
"""
    quota = load_config(text, env={}).server.quota
    assert quota is not None and quota.period == "day" and quota.kvstore.db_path == "./quotas.db"
