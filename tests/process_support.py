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
import select
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
from typing import IO, TypeVar

import pytest

#: The ``icipredict`` command of this Python, as the tests run it.
CLI = [sys.executable, "-m", "icipredict.cli"]

K = TypeVar("K")


def run_cli_exec(args: list[str], *, cwd: Path | None = None, timeout: float = 600,
                 env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess:
    """``icipredict ARGS`` in a freshly started interpreter (``python -m icipredict.cli``), its output captured as text.

    For the tests of what depends on a fresh start: start-up imports and time, the installed wheel."""
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          env=None if env is None else dict(env))


def fresh_cli() -> bool:
    """Whether ``ICIPREDICT_TEST_FRESH_CLI=1`` asks every CLI run to start a fresh interpreter, not a forked child."""
    return os.environ.get("ICIPREDICT_TEST_FRESH_CLI") == "1"


def run_cli(args: list[str], *, cwd: Path | None = None, timeout: float = 600,
            env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess:
    """``icipredict ARGS`` in a child process of its own, its stdout and stderr captured as text.

    The child comes from :func:`start_cli` (a template's child, or a fresh interpreter where one is needed).
    """
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    try:
        child = start_cli(args, cwd=cwd, env=env, stdout=out_w, stderr=err_w)
    finally:
        os.close(out_w)
        os.close(err_w)
    with ThreadPoolExecutor(max_workers=2) as pool:
        out, err = pool.submit(_read_all, out_r), pool.submit(_read_all, err_r)
        try:
            code = child.wait(timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
            raise
        return subprocess.CompletedProcess(child.args, code, _text(out.result()), _text(err.result()))


def _template_serves(env: Mapping[str, str] | None) -> bool:
    """Whether a template child can run under ``env``: not when it changes what Python reads as it starts
    (``PYTHONPATH``, ``PYTHONWARNINGS`` and the like), which a fresh interpreter must read."""
    env = os.environ if env is None else env
    names = {n for n in (*env, *_START_ENV) if n.startswith("PYTHON")}
    return all(env.get(n) == _START_ENV.get(n) for n in names)


def start_cli(args: list[str], *, cwd: Path | None = None, env: Mapping[str, str] | None = None,
              stdout: int | IO | None = subprocess.DEVNULL, stderr: int | IO | None = subprocess.DEVNULL,
              new_session: bool = False) -> "CliChild | subprocess.Popen":
    """Start ``icipredict ARGS`` as a child forked from the template process; a ``Popen``-like handle.

    The template (``tests/process_template.py``) has imported the package once; each child becomes ``python -m
    icipredict.cli ARGS`` with this working directory, environment (this process's when ``env`` is None), umask
    and standard streams (``subprocess.DEVNULL``, a file descriptor or a file), ``new_session`` as
    ``start_new_session``. Its exit code, signals and atexit handlers are its own; it saves the imports a fresh
    interpreter repeats. Under ``ICIPREDICT_TEST_FRESH_CLI=1``, or an ``env`` that changes ``PYTHON*`` variables,
    it is a fresh interpreter's ``Popen``.
    """
    if fresh_cli() or not _template_serves(env):
        return subprocess.Popen([*CLI, *args], cwd=cwd, env=None if env is None else dict(env), stdout=stdout,
                                stderr=stderr, stdin=subprocess.DEVNULL, start_new_session=new_session)

    def fd(stream) -> int:
        if stream is subprocess.DEVNULL or stream is None:
            return os.open(os.devnull, os.O_RDWR)
        return os.dup(stream if isinstance(stream, int) else stream.fileno())

    fds = [os.open(os.devnull, os.O_RDONLY), fd(stdout), fd(stderr)]
    umask = os.umask(0o022)
    os.umask(umask)
    request = json.dumps({"args": [str(a) for a in args], "cwd": str(Path(cwd or os.getcwd()).resolve()),
                          "env": dict(os.environ if env is None else env), "umask": umask,
                          "new_session": new_session}).encode()
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(str(_template().socket))
        socket.send_fds(conn, [len(request).to_bytes(4, "big")], fds)
        conn.sendall(request)
    finally:
        for each in fds:
            os.close(each)
    return CliChild([*CLI, *args], conn)


class CliChild:
    """A child started by :func:`start_cli`: ``pid``, ``poll``, ``wait``, ``send_signal``, ``kill``, ``returncode``."""

    def __init__(self, args: list[str], conn: socket.socket) -> None:
        self.args = args
        self._conn = conn
        self._buffer = b""
        self.pid: int = json.loads(self._line(None))["pid"]
        self.returncode: int | None = None

    def _line(self, timeout: float | None) -> bytes:
        """The template's next reply line, waiting at most ``timeout`` seconds (None: as long as it takes)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not select.select([self._conn], [], [], left)[0]:
                raise subprocess.TimeoutExpired(self.args, timeout)
            chunk = self._conn.recv(4096)
            if not chunk:
                raise RuntimeError(f"the CLI template ended:\n{_template().log.read_text()[-3000:]}")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self.returncode = os.waitstatus_to_exitcode(json.loads(self._line(timeout))["status"])
            self._conn.close()
        return self.returncode

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                return self.wait(timeout=0)
            except subprocess.TimeoutExpired:
                return None
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:
            os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class _Template:
    """The running ``tests/process_template.py`` of this test process, started on first use."""

    def __init__(self) -> None:
        import atexit
        import tempfile

        # a short folder: a Unix socket's path holds at most 107 bytes, and a test may point TMPDIR deep down
        self.folder = Path(tempfile.mkdtemp(prefix="icipredict-template-", dir="/tmp" if os.path.isdir("/tmp") else None))
        self.socket = self.folder / "socket"
        self.log = self.folder / "log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("process_template.py")),
                                          str(self.socket)], stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         cwd=self.folder, env=_START_ENV)
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


#: The environment this test process started with: the template imports under it, whatever a test has set since
#: (each child then runs under its caller's environment).
_START_ENV = dict(os.environ)
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
    proc: subprocess.Popen | CliChild


@contextlib.contextmanager
def serve(command: Callable[[int], list[str]], log: Path, env: Mapping[str, str] | None = None,
          cwd: Path | None = None, *, name: str, startup_seconds: float = 60) -> Iterator[Served]:
    """A server started by ``command(port)`` in its own process group, output to ``log``; yields once /ping answers.

    An ``icipredict`` command line (``[*CLI, ...]``) starts as a child of the template (:func:`start_cli`), any
    other as a fresh process.

    ``env`` is added to this process's environment. On exit the process group gets SIGTERM, then SIGKILL.
    """
    port = free_port()
    argv = command(port)
    with open(log, "wb") as out:
        if argv[:len(CLI)] == CLI:  # `icipredict serve`: a child of the template
            proc = start_cli(argv[len(CLI):], cwd=cwd, env={**os.environ, **(env or {})}, stdout=out, stderr=out,
                             new_session=True)
        else:
            proc = subprocess.Popen(argv, cwd=cwd, env={**os.environ, **(env or {})}, stdout=out,
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
