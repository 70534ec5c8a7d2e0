"""``inline::localfs``: the Files API on the local filesystem."""

from __future__ import annotations

from stack_core import RegisterProvider, hookimpl

from .adapter import LocalFSFiles
from .config import LocalFSConfig


@hookimpl
def stack_register_providers(register: RegisterProvider) -> None:
    register(
        api="files",
        provider_type="inline::localfs",
        config=LocalFSConfig,
        factory=LocalFSFiles,
        sample_config={"storage_dir": "${env.FILES_STORAGE_DIR:=}"},
        description="Files on the local filesystem, metadata in the stack's database.",
    )
