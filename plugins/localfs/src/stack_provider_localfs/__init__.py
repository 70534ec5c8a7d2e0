"""``inline::localfs``: the Files API on the local filesystem."""

from __future__ import annotations

from stack_core import ProviderContext, RegisterProvider, hookimpl

from .config import LocalFSConfig


def create(config: LocalFSConfig, context: ProviderContext) -> object:
    """Imports the adapter (and its dependencies) only when this provider is configured."""
    from .adapter import LocalFSFiles

    return LocalFSFiles(config, context)


@hookimpl
def stack_register_providers(register: RegisterProvider) -> None:
    register(
        api="files",
        provider_type="inline::localfs",
        config=LocalFSConfig,
        factory=create,
        sample_config={"storage_dir": "${env.FILES_STORAGE_DIR:=}"},
        description="Files on the local filesystem, metadata in the stack's database.",
    )
