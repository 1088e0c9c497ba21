"""The example app as the README's quick start runs it: a real HTTP server.

:class:`ExampleServer` runs ``python -m example_app --port 0`` in a child
process, on its embedded DynamoDB, in an environment without any AWS
setting (but for the app's config keys a test gives), and reads the address
it prints.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import typing as t

import pytest

from tests.support.servers import REPO_ROOT

if t.TYPE_CHECKING:
    from pathlib import Path

__all__ = ["ExampleServer"]

#: Seconds the app may take to print its address (a loaded machine).
STARTUP_TIMEOUT = 60.0
#: Seconds the app may take to stop after Ctrl-C.
STOP_TIMEOUT = 10.0
ADDRESS = re.compile(r"open (http://127\.0\.0\.1:\d+/)")


class ExampleServer:
    """``python -m example_app --port 0`` in a child process.

    :param workdir: where its output goes.
    :param config: environment variables for the app, such as
        ``SESSION_DYNAMODB_ROTATE_AFTER``.
    """

    def __init__(
        self, workdir: Path, config: t.Mapping[str, str] | None = None
    ) -> None:
        self.config = dict(config or {})
        self.stdout_path = workdir / "stdout.txt"
        self.stderr_path = workdir / "stderr.txt"
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def environment(self, workdir: Path) -> dict[str, str]:
        """This environment without any AWS, DynamoDB or secret key setting,
        as on a fresh machine, whatever this one has configured; then the
        config the test gives."""
        env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("AWS_", "SESSION_DYNAMODB_"))
            and name != "SECRET_KEY"
        }
        env["AWS_CONFIG_FILE"] = str(workdir / "no-aws-config")
        env["AWS_SHARED_CREDENTIALS_FILE"] = str(workdir / "no-aws-credentials")
        env["PYTHONUNBUFFERED"] = "1"
        env.update(self.config)
        return env

    def start(self) -> str:
        """Start the app and return the address it prints."""
        workdir = self.stdout_path.parent
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "example_app", "--port", "0"],
                cwd=REPO_ROOT,
                env=self.environment(workdir),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            match = ADDRESS.search(self.stdout)
            if match:
                self.url = match.group(1)
                return self.url
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        pytest.fail(f"the example app did not start:\n{self.output}")

    def interrupt(self) -> int:
        """Ctrl-C: return the exit status."""
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"the example app did not stop on Ctrl-C:\n{self.output}")

    def kill(self) -> None:
        """Make sure the process is gone, whatever happened before."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.kill()
        self.process.wait(STOP_TIMEOUT)

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    @property
    def output(self) -> str:
        stderr = self.stderr_path.read_text(errors="replace")
        return f"--- stdout\n{self.stdout}--- stderr\n{stderr}"
