"""Running ``stack run`` in a subprocess on a free port, for tests over real sockets."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import yaml

__all__ = ["StackServer", "free_port"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class StackServer:
    """``with StackServer(config) as server: httpx.get(server.url + "/v1/health")``.

    ``config`` is a run-config mapping, a file path or ``None`` (assemble from installed plugins).
    The server's output goes to ``log_path``; a server that does not come up raises with its log.
    ``health_context`` is the TLS context used to poll ``/v1/health`` (set a client certificate on it
    for mutual TLS).
    """

    def __init__(
        self,
        config: dict[str, Any] | str | Path | None = None,
        *,
        env: dict[str, str] | None = None,
        port: int | None = None,
        args: tuple[str, ...] = (),
        python: str = sys.executable,
        startup_timeout: float = 60.0,
        scheme: str = "http",
    ) -> None:
        self.port = port or free_port()
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self._dir = Path(tempfile.mkdtemp(prefix="stack-server-"))
        self.log_path = self._dir / "server.log"
        self.config_path: Path | None = None
        if isinstance(config, dict):
            self.config_path = self._dir / "run.yaml"
            self.config_path.write_text(yaml.safe_dump(config))
        elif config is not None:
            self.config_path = Path(config)
        self.env = {**os.environ, **(env or {})}
        self.args, self.python, self.startup_timeout = args, python, startup_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self.health_context = ssl.create_default_context()
        self.health_context.check_hostname = False
        self.health_context.verify_mode = ssl.CERT_NONE

    def command(self) -> list[str]:
        config = [str(self.config_path)] if self.config_path else []
        return [self.python, "-m", "stack_core.cli", "run", *config, "--port", str(self.port), *self.args]

    def start(self) -> StackServer:
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self.command(), env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"stack run exited with {self.process.returncode}:\n{self.log()}")
            try:
                if (
                    httpx.get(f"{self.url}/v1/health", timeout=1.0, verify=self.health_context).status_code
                    < 500
                ):
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"stack run did not answer within {self.startup_timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout: float = 15.0) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def __enter__(self) -> StackServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)
