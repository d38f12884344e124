"""Hardening III: a write that fails part-way (a full disk, a read-only file system) is one line that
says what was kept, never a traceback, and leaves the earlier output and no partial file.

The disk is made to fail in-process (the package's own write step raises ``ENOSPC``/``EROFS``), and
for real in a subprocess whose standard output is ``/dev/full`` (every write fails with ``ENOSPC``).
Outputs are private (0600) whatever the umask, unless ``ICIPREDICT_SHARE_OUTPUTS=1``.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from process_support import CLI, run_cli_in_process, tree_digest

import icipredict
import icipredict.model.bundle as bundle_module
from icipredict.exceptions import OutputFailed
from icipredict.io.output import TableWriter, atomic_path

PATIENTS = "patient_id,pdl1_tps,tmb\np1,80,20\np2,0,2\np3,30,11\n"


def _run(argv: list[str]) -> tuple[int, str]:
    code, _, err = run_cli_in_process(argv)
    return code, err


def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.fixture()
def folder(tmp_path, monkeypatch) -> Path:
    (tmp_path / "in.csv").write_text(PATIENTS)
    (tmp_path / "out.csv").write_text("earlier predictions\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _one_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("[icipredict]")]
    assert len(lines) == 1 and lines[0].startswith("icipredict: error: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_full_disk_while_predicting_keeps_the_earlier_output(folder, small_model, monkeypatch, stream):
    monkeypatch.setattr(TableWriter, "_write", _disk_full)
    before = tree_digest(folder)
    code, err = _run(["predict", "--model", str(small_model), "--input", "in.csv", "--output", "out.csv",
                      *(["--chunk-size", "1"] if stream else [])])
    line = _one_line(err)
    assert code == 4
    assert "could not write 'out.csv': No space left on device; the earlier out.csv is unchanged" in line
    assert tree_digest(folder) == before and sorted(p.name for p in folder.iterdir()) == ["in.csv", "out.csv"]


def test_read_only_file_system_at_the_rename(folder, small_model, monkeypatch):
    monkeypatch.setattr("icipredict.io.output.os.replace", lambda *a: (_ for _ in ()).throw(
        OSError(errno.EROFS, "Read-only file system")))
    before = tree_digest(folder)
    code, err = _run(["explain", "--model", str(small_model), "--input", "in.csv", "--patient", "p1", "--output",
                      "r.html"])
    assert code == 4 and "could not write 'r.html': Read-only file system; nothing was written under that name" \
        in _one_line(err)
    assert tree_digest(folder) == before


def test_full_disk_while_saving_a_bundle(folder, small_model, monkeypatch):
    shutil.copytree(small_model, folder / "earlier")
    before = tree_digest(folder)
    monkeypatch.setattr(bundle_module, "_write_estimator", _disk_full)
    local = "patient_id,pdl1_tps,tmb,pfs_months,pfs_event\n" + "".join(
        f"q{i},{(i * 37) % 100},{i % 23},{(i * 7) % 14 + 0.5},1\n" for i in range(120))
    (folder / "local.csv").write_text(local)
    before = tree_digest(folder)
    code, err = _run(["update", "--model", str(small_model), "--input", "local.csv", "--output", "earlier",
                      "--force", "--no-tracking", "--n-boot", "0", "--method", "intercept"])
    assert code == 4 and "could not write 'earlier': No space left on device; the earlier model there is " \
        "unchanged and no partial folder was left" in _one_line(err)
    assert tree_digest(folder) == before
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]
    with pytest.raises(OutputFailed, match="No space left on device"):
        icipredict.update(small_model, "local.csv", out="new", method="intercept", n_boot=0)
    assert not (folder / "new").exists()


def test_python_writer_raises_output_failed(tmp_path, monkeypatch):
    target = tmp_path / "t.csv"
    target.write_text("earlier\n")
    monkeypatch.setattr(pd.DataFrame, "to_csv", _disk_full)
    with pytest.raises(OutputFailed, match=r"could not write .*t.csv'.*the earlier t.csv is unchanged"):
        with TableWriter(target) as writer:
            writer.write(pd.DataFrame({"a": [1]}))
    assert target.read_text() == "earlier\n" and sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_standard_output_on_a_full_device(tmp_path, small_model, stream):
    (tmp_path / "in.csv").write_text(PATIENTS * 1 + "".join(f"x{i},{i % 100},{i % 30}\n" for i in range(3000)))
    with open("/dev/full", "w") as full:
        proc = subprocess.run([*CLI, "predict", "--model", str(small_model), "--input", "in.csv",
                               *(["--chunk-size", "500"] if stream else [])], cwd=tmp_path, stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=120)
    assert proc.returncode == 4, proc.stderr
    assert "could not write 'standard output': No space left on device" in _one_line(proc.stderr)


def test_outputs_are_private_unless_shared(tmp_path, monkeypatch):
    old = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "private.html") as tmp:
            tmp.write_text("x")
        monkeypatch.setenv("ICIPREDICT_SHARE_OUTPUTS", "1")
        with TableWriter(tmp_path / "shared.csv") as writer:
            writer.write(pd.DataFrame({"a": [1]}))
            writer.commit()
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "private.html").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "shared.csv").stat().st_mode) == 0o644
