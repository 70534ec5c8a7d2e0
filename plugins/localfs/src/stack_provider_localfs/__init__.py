"""``inline::localfs``: the Files API on the local filesystem."""

from __future__ import annotations

from stack_core import RegisterProvider, hookimpl


@hookimpl
def stack_register_providers(register: RegisterProvider) -> None:
    register(
        api="files",
        provider_type="inline::localfs",
        config="stack_provider_localfs.config:LocalFSConfig",
        factory="stack_provider_localfs.adapter:create_files",
        sample_config={"storage_dir": "${env.FILES_STORAGE_DIR:=}"},
        description="Files on the local filesystem, metadata in the stack's database.",
    )
