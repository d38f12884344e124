"""Helpers of the tests that run icipredict in real processes: the CLI, HTTP servers, and the folders
they must leave as they were.

Not a ``conftest.py``: a second conftest module would replace ``tests/conftest.py`` as the module
``conftest`` that other tests import from (see ``tests/serving/serving_support.py``).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

#: The ``icipredict`` command of this Python, as the tests run it.
CLI = [sys.executable, "-m", "icipredict.cli"]


def free_port() -> int:
    """A TCP port free on the loopback interface now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_json(url: str, body: dict | None = None, timeout: float = 30.0) -> tuple[int, bytes]:
    """POST ``body`` as JSON (GET when it is None); the status and the raw answer, error answers included."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@dataclass(frozen=True)
class Served:
    url: str
    proc: subprocess.Popen


@contextlib.contextmanager
def serve(command: Callable[[int], list[str]], log: Path, env: Mapping[str, str] | None = None,
          cwd: Path | None = None, *, name: str, startup_seconds: float = 60) -> Iterator[Served]:
    """A server started by ``command(port)`` in its own process group, output to ``log``; yields once /ping answers.

    ``env`` is added to this process's environment. On exit the process group gets SIGTERM, then SIGKILL.
    """
    port = free_port()
    with open(log, "wb") as out:
        proc = subprocess.Popen(command(port), cwd=cwd, env={**os.environ, **(env or {})}, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_seconds
        while True:
            if proc.poll() is not None:
                pytest.fail(f"{name} exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if http_json(f"{url}/ping", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"{name} did not answer /ping within {startup_seconds} s:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield Served(url, proc)
    finally:
        for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
