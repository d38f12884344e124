"""Helpers of the tests that run icipredict in real processes: the CLI, HTTP servers, and the folders
they must leave as they were.

Not a ``conftest.py``: a second conftest module would replace ``tests/conftest.py`` as the module
``conftest`` that other tests import from (see ``tests/serve/serving_support.py``).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest

#: The ``icipredict`` command of this Python, as the tests run it.
CLI = [sys.executable, "-m", "icipredict.cli"]

K = TypeVar("K")


def run_cli_exec(args: list[str], *, cwd: Path | None = None, timeout: float = 600,
                 env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess:
    """``icipredict ARGS`` in a freshly started interpreter (``python -m icipredict.cli``), its output captured as text.

    For the tests of what depends on a fresh start: start-up imports and time, the installed wheel, signals."""
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          env=None if env is None else dict(env))


def run_cli(args: list[str], *, cwd: Path | None = None, timeout: float = 600,
            env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess:
    """``icipredict ARGS`` in a child process of its own, its stdout and stderr captured as text.

    The child is forked from a template that has imported the package (``tests/process_template.py``) and runs
    ``python -m icipredict.cli ARGS`` from there, with its own working directory, environment (this process's
    when ``env`` is None), umask, standard streams, exit code and atexit handlers; it saves the imports a fresh
    interpreter repeats. ``ICIPREDICT_TEST_FRESH_CLI=1`` runs every call in a fresh interpreter instead.
    """
    if os.environ.get("ICIPREDICT_TEST_FRESH_CLI") == "1":
        return run_cli_exec(args, cwd=cwd, timeout=timeout, env=env)
    return _template().run(args, cwd=cwd, timeout=timeout, env=os.environ if env is None else env)


class _Template:
    """The running ``tests/process_template.py`` of this test process, started on first use."""

    def __init__(self) -> None:
        import atexit
        import tempfile

        self.folder = Path(tempfile.mkdtemp(prefix="icipredict-template-"))
        self.socket = self.folder / "socket"
        self.log = self.folder / "log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("process_template.py")),
                                          str(self.socket)], stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         cwd=self.folder)
        atexit.register(self.close)
        deadline = time.monotonic() + 120
        while not self.log.read_bytes().startswith(b"ready"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the CLI template did not start:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.05)

    def close(self) -> None:
        import shutil

        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.folder, ignore_errors=True)

    def run(self, args: list[str], *, cwd: Path | None, timeout: float,
            env: Mapping[str, str]) -> subprocess.CompletedProcess:
        umask = os.umask(0o022)
        os.umask(umask)
        request = json.dumps({"args": [str(a) for a in args], "cwd": str(Path(cwd or os.getcwd()).resolve()),
                              "env": dict(env), "umask": umask}).encode()
        stdin = os.open(os.devnull, os.O_RDONLY)
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.connect(str(self.socket))
            try:
                socket.send_fds(conn, [len(request).to_bytes(4, "big")], [stdin, out_w, err_w])
                conn.sendall(request)
            finally:
                for fd in (stdin, out_w, err_w):
                    os.close(fd)
            with ThreadPoolExecutor(max_workers=2) as pool:
                out, err = pool.submit(_read_all, out_r), pool.submit(_read_all, err_r)
                replies = conn.makefile("rb")
                pid = json.loads(replies.readline())["pid"]
                conn.settimeout(timeout)
                try:
                    line = replies.readline()
                except TimeoutError:
                    os.kill(pid, signal.SIGKILL)
                    raise subprocess.TimeoutExpired([*CLI, *args], timeout) from None
                if not line:
                    raise RuntimeError(f"the CLI template ended:\n{self.log.read_text()[-3000:]}")
                status = json.loads(line)["status"]
                stdout, stderr = out.result(), err.result()
        return subprocess.CompletedProcess([*CLI, *args], os.waitstatus_to_exitcode(status), _text(stdout),
                                           _text(stderr))


_TEMPLATE: _Template | None = None
_TEMPLATE_LOCK = threading.Lock()


def _template() -> _Template:
    global _TEMPLATE
    with _TEMPLATE_LOCK:  # run_cli_many calls from threads
        if _TEMPLATE is None or _TEMPLATE.proc.poll() is not None:
            _TEMPLATE = _Template()
        return _TEMPLATE


def _read_all(fd: int) -> bytes:
    with open(fd, "rb") as stream:
        return stream.read()


def _text(data: bytes) -> str:
    """Bytes decoded as ``subprocess.run(text=True)`` decodes them (locale encoding, universal newlines)."""
    return io.TextIOWrapper(io.BytesIO(data)).read()


def run_cli_in_process(args: list[str], *, cwd: Path | None = None) -> tuple[int, str, str]:
    """``icipredict ARGS`` run in this process through ``cli.main``: (exit code, stdout, stderr).

    The same code path as :func:`run_cli` without the seconds a fresh Python spends importing; the tests
    that use it keep a representative subset of their cases in real subprocesses.
    """
    from icipredict.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.ExitStack() as stack:
        stack.enter_context(contextlib.redirect_stdout(out))
        stack.enter_context(contextlib.redirect_stderr(err))
        if cwd is not None:
            stack.enter_context(contextlib.chdir(cwd))
        try:
            code = main(args)
        except SystemExit as exc:  # argparse usage errors
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def run_cli_many(jobs: Mapping[K, list[str]], *, cwd: Path | None = None, timeout: float = 600,
                 workers: int = 2) -> dict[K, subprocess.CompletedProcess]:
    """:func:`run_cli` for each job, ``workers`` at a time: each call spends most of its time importing."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {key: pool.submit(run_cli, args, cwd=cwd, timeout=timeout) for key, args in jobs.items()}
        return {key: f.result() for key, f in futures.items()}


def tree_digest(root: Path, *, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """SHA-256 of every file under ``root`` by relative path, leaving out files under a folder named in ``skip``."""
    skipped = set(skip)
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and not skipped & set(p.parts)}


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
