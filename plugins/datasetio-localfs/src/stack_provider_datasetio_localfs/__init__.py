"""``inline::localfs`` DatasetIO: rows, ``data:`` URIs and local CSV/JSON/JSONL/Parquet files."""

from __future__ import annotations

from stack_core import RegisterProvider, hookimpl


@hookimpl
def stack_register_providers(register: RegisterProvider) -> None:
    register(
        api="datasetio",
        provider_type="inline::localfs",
        config="stack_provider_datasetio_localfs.config:LocalFSDatasetIOConfig",
        factory="stack_provider_datasetio_localfs.adapter:create_provider",
        sample_config={"storage_dir": "${env.DATASETS_STORAGE_DIR:=}"},
        description="Datasets from rows (kept in SQL), data: URIs and local CSV, JSON, JSONL and Parquet files.",
    )
