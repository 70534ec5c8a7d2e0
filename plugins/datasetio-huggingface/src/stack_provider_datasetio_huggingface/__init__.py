"""``remote::huggingface`` DatasetIO: ``huggingface://datasets/<path>?split=...`` through ``datasets``."""

from __future__ import annotations

from stack_core import RegisterProvider, hookimpl


@hookimpl
def stack_register_providers(register: RegisterProvider) -> None:
    register(
        api="datasetio",
        provider_type="remote::huggingface",
        config="stack_provider_datasetio_huggingface.config:HuggingFaceDatasetIOConfig",
        factory="stack_provider_datasetio_huggingface.adapter:create_provider",
        sample_config={"storage_dir": "${env.HF_DATASETS_STORAGE_DIR:=}"},
        description="Hugging Face datasets (hub ids, local builders, save_to_disk directories), memory-mapped.",
    )
