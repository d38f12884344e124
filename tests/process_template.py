"""A template process for the tests' CLI runs: ``python tests/process_template.py SOCKET``.

It imports the package (and the libraries its commands import) once, then waits on the Unix socket
``SOCKET``. For each request (the arguments, working directory, environment, umask and three file
descriptors for standard input, output and error) it forks a child that becomes ``python -m
icipredict.cli ARGS``: fresh standard streams on those descriptors, ``sys.argv`` and ``sys.path[0]`` as
``-m`` sets them, and the module run by :func:`runpy._run_module_as_main`, the function ``-m`` itself
calls. The child ends as any interpreter does: an uncaught exception prints its traceback and exits 1,
``SystemExit`` gives its code, atexit handlers and non-daemon threads are waited for.

The child skips only what every fresh Python repeats: the imports (0.9-2.5 s of CPU each run). The tests
of what depends on a fresh start (start-up imports, ``--help``'s speed, signals, the installed wheel,
terminals) start real interpreters (``process_support.run_cli_exec``).

Replies on the socket are JSON lines: ``{"pid": N}`` when the child starts, then ``{"status": S}`` (the
raw wait status) when it ends. The template is single-threaded, so forking it is safe; it refuses to
serve if an import started a thread.
"""

from __future__ import annotations

import gc
import io
import json
import os
import select
import signal
import socket
import struct
import sys
import threading
import types


#: What the commands import later, measured in the children's profiles: the MLflow SQLite store, the libraries
#: MLflow's runs import (git, IPython), the training plots, and the Excel and Parquet readers.
LIBRARIES = ("mlflow.store.tracking.sqlalchemy_store", "sqlalchemy.dialects.sqlite", "mlflow.tracing.processor.base_mlflow",
             "git", "IPython", "matplotlib.figure", "matplotlib.backends.backend_agg", "openpyxl", "pyarrow.dataset",
             "pyarrow.parquet")


def _preload() -> None:
    import importlib
    import pkgutil

    import icipredict

    for info in pkgutil.walk_packages(icipredict.__path__, "icipredict."):
        # the calculator (flask, its templates) starts only with `serve`; the shipped models are data
        # and a package's __main__ is run by -m, not imported
        if info.name.split(".")[1] not in {"web", "shipped"} and not info.name.endswith(".__main__"):
            importlib.import_module(info.name)
    for name in LIBRARIES:
        try:
            importlib.import_module(name)
        except ImportError:  # an optional library (openpyxl) not installed: the child reports it as a user would see
            pass


def _serve(path: str) -> dict:
    """Answer requests until one is taken by a forked child; return that request in the child."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(16)
    if threading.active_count() != 1:
        raise SystemExit(f"template: an import started a thread ({threading.enumerate()}); forking is unsafe")
    wake_r, wake_w = os.pipe()  # SIGCHLD writes here: the loop wakes when a child ends
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    parent = os.getppid()
    print("ready", flush=True)
    running: dict[int, socket.socket] = {}
    while True:
        while running:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            conn = running.pop(pid)
            try:
                conn.sendall(json.dumps({"status": status}).encode() + b"\n")
            except OSError:
                pass
            conn.close()
        ready, _, _ = select.select([listener, wake_r], [], [], 5.0)
        if os.getppid() != parent:  # the test process has gone: so does its template
            raise SystemExit(0)
        if wake_r in ready:
            os.read(wake_r, 4096)
        if listener not in ready:
            continue
        conn, _ = listener.accept()
        head, fds, _, _ = socket.recv_fds(conn, 4, 3)
        (size,) = struct.unpack("!I", head)
        body = b""
        while len(body) < size:
            chunk = conn.recv(size - len(body))
            if not chunk:
                break
            body += chunk
        request = json.loads(body)
        pid = os.fork()
        if pid == 0:
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # a fresh interpreter's disposition
            os.close(wake_r)
            os.close(wake_w)
            listener.close()
            conn.close()
            for conn_ in running.values():
                conn_.close()
            for target, fd in enumerate(fds):
                os.dup2(fd, target)
                os.close(fd)
            return request
        for fd in fds:
            os.close(fd)
        conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
        running[pid] = conn


def _stream(fd: int, mode: str, old: io.TextIOWrapper, *, stderr: bool = False) -> io.TextIOWrapper:
    """A standard stream on ``fd`` made as the interpreter makes it at start-up (line-buffered on a
    terminal, and stderr always)."""
    buffered = open(fd, mode + "b", closefd=False)  # noqa: SIM115 (the stream lives as long as the process)
    stream = io.TextIOWrapper(buffered, encoding=old.encoding, errors=old.errors, newline="\n",
                              line_buffering=stderr or os.isatty(fd))
    stream.mode = mode
    return stream


def _become(request: dict) -> None:
    """Turn this forked child into ``python -m icipredict.cli ARGS`` started with the request's setting."""
    if request["new_session"]:
        os.setsid()
    os.chdir(request["cwd"])
    os.umask(request["umask"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.stdin = sys.__stdin__ = _stream(0, "r", sys.stdin)
    sys.stdout = sys.__stdout__ = _stream(1, "w", sys.stdout)
    sys.stderr = sys.__stderr__ = _stream(2, "w", sys.stderr, stderr=True)
    sys.argv = ["-m", *request["args"]]
    sys.path.insert(0, os.getcwd())  # what -m puts first (the template's own first entry was taken out)
    main = types.ModuleType("__main__")
    main.__dict__["__builtins__"] = __builtins__
    sys.modules["__main__"] = main


if __name__ == "__main__":
    sys.path.pop(0)  # the tests folder: a child sees what a `python -m` started in its directory sees
    _preload()
    # the preloaded objects leave the garbage collector's view: a child's full collection would otherwise walk
    # (and copy, page by page) the whole preloaded heap, about 0.3 s each time
    gc.freeze()
    _become(_serve(sys.argv[1]))
    import runpy

    runpy._run_module_as_main("icipredict.cli")  # what `python -m icipredict.cli` calls
