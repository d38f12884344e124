"""Model bundles on disk: a directory that loads without unpickling anything.

Layout of a bundle directory::

    model.json        metadata: estimator, feature names and options, calibrator, risk thresholds,
                      training ranges, seen regimens and assays, metrics, label rule
    estimator.ubj     XGBoost's native binary format            (xgboost)
    estimator.skops   skops archive, loaded with scikit-learn / numpy types only (logistic, forest)
    model_card.md     the model card
    checksums.sha256  SHA-256 of every other file, verified before anything is read

A bundle is written into a temporary sibling directory and renamed into place, so a run killed
midway never leaves a directory that loads as if complete. Files are byte-identical for the same
fitted model (no timestamps, no memory addresses), so the same config and seed give the same files.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from icipredict.exceptions import ModelLoadError

__all__ = ["save_bundle", "load_bundle", "verify_checksums", "FORMAT_VERSION"]

FORMAT_VERSION = 1
_CHECKSUMS = "checksums.sha256"
_TRUSTED_MODULES = ("sklearn.", "numpy.")  # never builtins: builtins.eval is a "type" too
_FIXED_DATE = (1980, 1, 1, 0, 0, 0)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _json_default(o: Any):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (set, frozenset, tuple)):
        return sorted(o) if isinstance(o, (set, frozenset)) else list(o)
    raise TypeError(f"cannot write {type(o).__name__} to model.json")


def _deterministic_skops(blob: bytes) -> bytes:
    """Rewrite a skops archive with stable member names and dates.

    skops names array members after ``id()`` of the object, which changes from run to run;
    renumbering them in order of first appearance makes the bytes depend on the model only.
    """
    src = zipfile.ZipFile(io.BytesIO(blob))
    schema = src.read("schema.json").decode()
    ids: dict[str, str] = {}
    # only object ids and the array files named after them; never numbers inside values
    pattern = re.compile(r'("__id__": |"file": ")(\d+)')
    for match in pattern.finditer(schema):
        ids.setdefault(match.group(2), str(len(ids) + 1))
    schema = pattern.sub(lambda m: m.group(1) + ids[m.group(2)], schema)
    members = {}
    for name in src.namelist():
        stem, dot, ext = name.partition(".")
        new = "schema.json" if name == "schema.json" else f"{ids.get(stem, stem)}{dot}{ext}"
        members[new] = schema.encode() if name == "schema.json" else src.read(name)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for name in sorted(members):
            info = zipfile.ZipInfo(name, date_time=_FIXED_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(info, members[name])
    return out.getvalue()


def save_bundle(model, path: str | Path, metadata: dict, *, model_card: str = "") -> Path:
    """Write a fitted :class:`~icipredict.models.IciModel` and its metadata to ``path``.

    Any existing bundle at ``path`` is replaced only once the new one is complete.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.partial-", dir=path.parent))
    os.chmod(tmp, 0o755)  # mkdtemp makes it private; a shipped model is read by everyone
    try:
        meta = dict(metadata)
        meta.update({
            "format_version": FORMAT_VERSION,
            "estimator": model.estimator,
            "feature_names": list(model.feature_names_),
            "feature_options": model.feature_options or {},
            "calibrator": model.calibrator_.to_dict(),
            "best_params": model.best_params_,
            "init_params": {k: v for k, v in model.get_params().items()},
        })
        if model.estimator == "xgboost":
            meta["estimator_file"] = "estimator.ubj"
            model.estimator_.save_model(str(tmp / "estimator.ubj"))
        else:
            import skops.io as sio

            meta["estimator_file"] = "estimator.skops"
            (tmp / "estimator.skops").write_bytes(_deterministic_skops(sio.dumps(model.estimator_)))
        (tmp / "model.json").write_text(json.dumps(meta, indent=2, sort_keys=True, default=_json_default) + "\n")
        (tmp / "model_card.md").write_text(model_card)
        lines = [f"{_sha256(tmp / name)}  {name}" for name in sorted(os.listdir(tmp))]
        (tmp / _CHECKSUMS).write_text("\n".join(lines) + "\n")
        if path.exists():
            old = path.with_name(f".{path.name}.old-{os.getpid()}")
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def verify_checksums(path: str | Path) -> None:
    """Raise :class:`ModelLoadError` unless every file of the bundle matches its checksum."""
    path = Path(path)
    listing = path / _CHECKSUMS
    if not path.is_dir():
        raise ModelLoadError(f"model directory {str(path)!r} does not exist; expected a model bundle directory.")
    if not listing.is_file():
        raise ModelLoadError(f"model {str(path)!r} has no {_CHECKSUMS}: it is incomplete (a run killed while "
                             "writing?) or not an icipredict model. Retrain or copy it again.")
    expected: dict[str, str] = {}
    for line in listing.read_text().splitlines():
        if line.strip():
            digest, _, name = line.partition("  ")
            expected[name.strip()] = digest.strip()
    for required in ("model.json",):
        if required not in expected:
            raise ModelLoadError(f"model {str(path)!r}: {_CHECKSUMS} does not list {required}.")
    for name, digest in expected.items():
        f = path / name
        if "/" in name or "\\" in name or name.startswith("."):
            raise ModelLoadError(f"model {str(path)!r}: unexpected file name {name!r} in {_CHECKSUMS}.")
        if not f.is_file():
            raise ModelLoadError(f"model {str(path)!r}: file {name} listed in {_CHECKSUMS} is missing.")
        got = _sha256(f)
        if got != digest:
            raise ModelLoadError(f"model {str(path)!r}: checksum mismatch for {name} (expected {digest[:12]}..., "
                                 f"got {got[:12]}...); the file is truncated or was modified. Refusing to load it.")


def load_bundle(path: str | Path):
    """Load a bundle written by :func:`save_bundle`; returns ``(model, metadata)``.

    Nothing from the directory is executed: XGBoost reads its own format, skops archives are
    loaded only if every type in them belongs to scikit-learn or numpy.
    """
    from icipredict.models import Calibrator, IciModel

    path = Path(path)
    verify_checksums(path)
    try:
        meta = json.loads((path / "model.json").read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelLoadError(f"model {str(path)!r}: model.json is not valid JSON ({exc}).") from None
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelLoadError(f"model {str(path)!r}: format_version {meta.get('format_version')!r} is not supported; "
                             f"expected {FORMAT_VERSION}. Got a bundle from another icipredict version.")
    init = {k: v for k, v in meta["init_params"].items() if k in IciModel().get_params()}
    model = IciModel(**init)
    est_file = path / meta["estimator_file"]
    try:
        if meta["estimator"] == "xgboost":
            from xgboost import XGBClassifier

            est = XGBClassifier(n_jobs=1)
            est.load_model(str(est_file))
            est.get_booster().set_param("nthread", 1)  # small batches: threads only add contention
        else:
            import skops.io as sio

            untrusted = sio.get_untrusted_types(file=est_file)
            bad = [t for t in untrusted if not t.startswith(_TRUSTED_MODULES)]
            if bad:
                raise ModelLoadError(f"model {str(path)!r}: {est_file.name} contains types outside scikit-learn and "
                                     f"numpy ({bad[:5]}); refusing to load it.")
            est = sio.load(est_file, trusted=untrusted)
    except ModelLoadError:
        raise
    except Exception as exc:  # a corrupt estimator file that still matched its checksum
        raise ModelLoadError(f"model {str(path)!r}: could not read {est_file.name}: {exc}") from None
    model.estimator_ = est
    model.calibrator_ = Calibrator.from_dict(meta["calibrator"])
    model.feature_names_ = list(meta["feature_names"])
    model.best_params_ = meta.get("best_params", {})
    model.classes_ = np.array([0, 1])
    model.n_features_in_ = len(model.feature_names_)
    return model, meta
