"""Hardening III, trust: a bundle holds regular files only, and a file is not a model.

Each broken bundle is a copy of the session model, re-signed so that only the link is wrong (a
link whose target's bytes match the listing would otherwise load and predict). The load refuses it
with the link named, in Python and on the command line (exit 3, one line).
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
from pathlib import Path

import pytest

import icipredict
from icipredict.cli import main
from icipredict.exceptions import ModelLoadError
from icipredict.model.bundle import CHECKSUMS, _sha256


def _resign(path: Path) -> None:
    names = sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file() and p.name != CHECKSUMS)
    (path / CHECKSUMS).write_text("".join(f"{_sha256(path / n)}  {n}\n" for n in names))


def _card_link(path: Path, outside: Path) -> None:
    shutil.copy(path / "model_card.md", outside)
    (path / "model_card.md").unlink()
    (path / "model_card.md").symlink_to(outside)  # same bytes: the checksum still matches


def _root_link(path: Path, outside: Path) -> None:
    (path / "plots").mkdir(exist_ok=True)
    (path / "plots" / "root").symlink_to("/")


def _etc_link(path: Path, outside: Path) -> None:
    (path / "etc").symlink_to("/etc")


LINKS = {"file-link-outside": (_card_link, "model_card.md"), "dir-link-to-root": (_root_link, "plots/root"),
         "dir-link-to-etc": (_etc_link, "etc")}


@pytest.mark.parametrize("name", list(LINKS), ids=list(LINKS))
def test_links_in_a_bundle_refuse_the_load(name, small_model, tmp_path):
    bundle = tmp_path / "linked"
    shutil.copytree(small_model, bundle)
    make, shown = LINKS[name]
    make(bundle, tmp_path / "outside.md")
    _resign(bundle)
    with pytest.raises(ModelLoadError, match=rf"symbolic link\(s\) in the bundle \({shown}\)"):
        icipredict.load_model(bundle)
    (tmp_path / "in.csv").write_text("patient_id,tmb\na,5\n")
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = main(["predict", "--model", str(bundle), "--input", str(tmp_path / "in.csv")])
    assert code == 3 and f"({shown})" in err.getvalue() and len(err.getvalue().strip().splitlines()) == 1


def test_a_link_to_the_bundle_itself_is_fine(small_model, tmp_path):
    (tmp_path / "alias").symlink_to(small_model)
    assert icipredict.predict({"patient_id": "a"}, model=tmp_path / "alias")["p_durable_benefit"].between(0, 1).all()


def test_a_file_is_not_a_model(tmp_path):
    one = tmp_path / "one.csv"
    one.write_text("patient_id\na\n")
    with pytest.raises(ModelLoadError, match=r"is a file, not a model folder"):
        icipredict.load_model(one)
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = main(["predict", "--model", str(one), "--input", str(one)])
    assert code == 3 and "is a file, not a model folder" in err.getvalue() and "does not exist" not in err.getvalue()
    os.remove(one)
