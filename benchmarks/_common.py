"""Shared helpers of the benchmark scripts (not part of the package)."""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def machine() -> dict:
    try:
        import icipredict
        version = icipredict.__version__
    except Exception:  # pragma: no cover - benchmark helper
        version = "unknown"
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "icipredict": version,
        "load_average_start": load_average(),
    }


def run_child(cmd: list[str], *, stdout=None, stderr=None, env=None, cwd=None,
              timeout: float | None = None) -> tuple[int | None, float, float]:
    """Run ``cmd``; return (exit code, wall seconds, peak RSS MB of that child and its children).

    ``os.wait4`` gives the resource usage of exactly this child (``RUSAGE_CHILDREN`` would be the
    maximum over every child the benchmark has waited for so far). ``ru_maxrss`` is in KB on Linux.
    After ``timeout`` seconds the child (and its process group) is killed and the exit code is None.
    """
    import signal

    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=stdout, stderr=stderr, env=env, cwd=cwd, start_new_session=True)
    timed_out = False
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if timeout is not None and time.perf_counter() - t0 > timeout and not timed_out:
            os.killpg(proc.pid, signal.SIGKILL)
            timed_out = True
        time.sleep(0.05)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return (None if timed_out else proc.returncode), wall, usage.ru_maxrss / 1024.0


def peak_rss_mb_self() -> float:
    """VmHWM of the current process in MB (falls back to getrusage)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def write_json(name: str, payload: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / name
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    return path


def markdown_table(header: list[str], rows: list[list]) -> str:
    def fmt(v):
        if isinstance(v, float):
            return f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}"
        return str(v)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(fmt(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)


PYTHON = sys.executable
