"""Model bundles on disk: a directory that loads without unpickling anything.

Layout of a bundle directory::

    model.json        the typed metadata (:class:`icipredict.model.metadata.ModelMetadata`)
    estimator.json    plain-number state                        (spline logistic regression)
    estimator.ubj     XGBoost's native binary format            (xgboost)
    estimator.skops   skops archive, loaded with scikit-learn / numpy types only (random forest)
    model_card.md     the model card
    plots/*.png       the training run's plots (optional)
    checksums.sha256  SHA-256 of every other file, verified before anything is read

Every file of the directory must be listed in ``checksums.sha256`` and match it: an added, missing
or changed file refuses the load. A bundle is written into a temporary sibling directory and renamed
into place, so a run killed midway never leaves a directory that loads as if complete. Files are
byte-identical for the same fitted model (no timestamps, no memory addresses).

Shipped models are package data (``icipredict/shipped/<name>``), found through
:mod:`importlib.resources`; each is an MLflow model directory whose ``artifacts/bundle`` is the
bundle. ``ICIPREDICT_MODELS`` names another folder of models to use instead.
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
from collections.abc import Mapping
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from icipredict.exceptions import ModelLoadError, OutputRefused
from icipredict.model.metadata import FORMAT_VERSION, ModelMetadata

__all__ = ["save_bundle", "check_bundle_target", "read_bundle", "verify_checksums", "bundle_digest", "find_bundle", "is_bundle",
           "shipped_models_dir", "shipped_models", "shipped_model_path", "CHECKSUMS", "MODELS_ENV"]

CHECKSUMS = "checksums.sha256"
#: Environment variable naming a folder of models that replaces the shipped ones.
MODELS_ENV = "ICIPREDICT_MODELS"
_TRUSTED_MODULES = ("sklearn.", "numpy.")  # never builtins: builtins.eval is a "type" too
_FIXED_DATE = (1980, 1, 1, 0, 0, 0)
_SAFE_NAME = re.compile(r"^(?:[A-Za-z0-9_][A-Za-z0-9_.\-]*/)?[A-Za-z0-9_][A-Za-z0-9_.\-]*$")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _json_default(o: Any):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (set, frozenset)):
        return sorted(o)
    if isinstance(o, tuple):
        return list(o)
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


def _write_estimator(estimator, folder: Path, name: str) -> None:
    if name.endswith(".json"):  # plain-number state (the spline-logistic model)
        (folder / name).write_text(json.dumps(estimator, indent=1, sort_keys=True, default=_json_default) + "\n")
    elif name.endswith(".ubj"):
        estimator.save_model(str(folder / name))
    else:
        import skops.io as sio

        (folder / name).write_bytes(_deterministic_skops(sio.dumps(estimator)))


def _listed_files(folder: Path) -> list[str]:
    """Every file under ``folder`` as a relative POSIX path, sorted."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def is_bundle(path: str | Path) -> bool:
    """True when ``path`` is a complete icipredict bundle: every file listed and matching its checksum."""
    try:
        verify_checksums(path)
    except ModelLoadError:
        return False
    return True


def check_bundle_target(path: str | Path, *, replace: bool = False) -> None:
    """Raise :class:`~icipredict.exceptions.OutputRefused` unless a bundle may be written at ``path``.

    A new path is fine. An existing one only with ``replace`` and only if it is itself a complete
    icipredict bundle; a shipped model is never a target.
    """
    path = Path(path)
    shipped = shipped_models_dir().resolve()
    target = path.resolve()
    if target == shipped or shipped in target.parents:
        raise OutputRefused(f"{str(path)!r} is inside the shipped models folder {str(shipped)!r}; expected an "
                              "output directory elsewhere. Shipped models are read-only to training.")
    if not (path.exists() or path.is_symlink()):
        return
    if not replace:
        raise OutputRefused(
            f"{str(path)!r} already exists; expected a new directory for the model bundle. Choose another "
            "output directory, or pass --force (output.replace=true) to replace an earlier icipredict model.")
    if path.is_symlink() or not path.is_dir() or not is_bundle(path):
        raise OutputRefused(
            f"{str(path)!r} exists and is not a complete icipredict model bundle (it holds files icipredict "
            "did not write, or fails its checksums); expected a new directory or an earlier model. Refusing to "
            "replace it: icipredict never deletes what it did not create. Choose another output directory.")


def save_bundle(path: str | Path, metadata: ModelMetadata, estimator, *, model_card: str = "",
                extra_files: Mapping[str, bytes] | None = None, replace: bool = False) -> Path:
    """Write a bundle (metadata, estimator weights, model card, extra files) to ``path``.

    Parameters
    ----------
    path : str or Path
        The bundle directory. It must not exist, unless ``replace`` is true and it is itself a
        complete icipredict bundle (then it is replaced once the new one is complete). Any other
        existing file or folder is refused: the package never deletes what it did not create.
    metadata : ModelMetadata
    estimator : dict (JSON state) or fitted XGBoost / scikit-learn estimator, per ``metadata.estimator.file``
    model_card : str
    extra_files : mapping, optional
        Relative name (``plots/roc.png``) -> bytes, written and checksummed with the bundle.
    replace : bool
        Allow replacing an existing bundle.

    Raises
    ------
    OutputRefused
        ``path`` exists and may not be replaced.
    """
    path = Path(path)
    check_bundle_target(path, replace=replace)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.partial-", dir=path.parent))
    os.chmod(tmp, 0o755)  # mkdtemp makes it private; a shipped model is read by everyone
    try:
        _write_estimator(estimator, tmp, metadata.estimator.file)
        body = json.dumps(metadata.model_dump(mode="json"), indent=2, sort_keys=True, default=_json_default)
        (tmp / "model.json").write_text(body + "\n")
        (tmp / "model_card.md").write_text(model_card)
        for name, data in sorted((extra_files or {}).items()):
            if not _SAFE_NAME.match(name):
                raise ValueError(f"extra_files: expected a plain relative file name. Got {name!r} instead.")
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp / name).write_bytes(data)
        lines = [f"{_sha256(tmp / name)}  {name}" for name in _listed_files(tmp)]
        (tmp / CHECKSUMS).write_text("\n".join(lines) + "\n")
        if path.exists():  # an earlier bundle, verified above: swap, then remove what we wrote before
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old-", dir=path.parent))
            os.replace(path, old / path.name)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def verify_checksums(path: str | Path) -> dict[str, str]:
    """Check every file of a bundle against ``checksums.sha256``; return the listing.

    Raises :class:`ModelLoadError` for a missing directory or listing, a listed file that is
    missing or differs, and a file in the directory that the listing does not name.
    """
    path = Path(path)
    listing = path / CHECKSUMS
    if not path.is_dir():
        raise ModelLoadError(f"model directory {str(path)!r} does not exist; expected a model bundle directory.")
    if not listing.is_file():
        raise ModelLoadError(f"model {str(path)!r} has no {CHECKSUMS}: it is incomplete (a run killed while "
                             "writing?) or not an icipredict model. Retrain or copy it again.")
    expected: dict[str, str] = {}
    for line in listing.read_text(errors="replace").splitlines():
        if line.strip():
            digest, _, name = line.partition("  ")
            expected[name.strip()] = digest.strip()
    if "model.json" not in expected:
        raise ModelLoadError(f"model {str(path)!r}: {CHECKSUMS} does not list model.json.")
    for name, digest in expected.items():
        if not _SAFE_NAME.match(name) or ".." in name.split("/"):
            raise ModelLoadError(f"model {str(path)!r}: unexpected file name {name!r} in {CHECKSUMS}.")
        f = path / name
        if not f.is_file():
            raise ModelLoadError(f"model {str(path)!r}: file {name} listed in {CHECKSUMS} is missing.")
        got = _sha256(f)
        if got != digest:
            raise ModelLoadError(f"model {str(path)!r}: checksum mismatch for {name} (expected {digest[:12]}..., "
                                 f"got {got[:12]}...); the file is truncated or was modified. Refusing to load it.")
    unlisted = [n for n in _listed_files(path) if n != CHECKSUMS and n not in expected]
    if unlisted:
        raise ModelLoadError(f"model {str(path)!r}: {len(unlisted)} file(s) not listed in {CHECKSUMS} "
                             f"({', '.join(unlisted[:5])}); expected only the files the bundle was written with. "
                             "Refusing to load it: remove them or copy the model again.")
    return expected


def bundle_digest(path: str | Path) -> str:
    """SHA-256 of a bundle's checksum listing: changes when any file of the bundle changes."""
    return _sha256(Path(path) / CHECKSUMS)


def _read_metadata(path: Path) -> ModelMetadata:
    try:
        raw = json.loads((path / "model.json").read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelLoadError(f"model {str(path)!r}: model.json is not valid JSON ({exc}).") from None
    if not isinstance(raw, dict) or raw.get("format_version") != FORMAT_VERSION:
        got = raw.get("format_version") if isinstance(raw, dict) else type(raw).__name__
        raise ModelLoadError(f"model {str(path)!r}: format_version {got!r} is not supported; expected "
                             f"{FORMAT_VERSION}. Got a bundle from another icipredict version: retrain it.")
    try:
        return ModelMetadata.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(x) for x in e['loc']) or '(top level)'}: {e['msg']}"
                             for e in exc.errors()[:5])
        raise ModelLoadError(f"model {str(path)!r}: model.json does not follow the model file contract "
                             f"({problems}).") from None


def _read_estimator(path: Path, meta: ModelMetadata):
    est_file = path / meta.estimator.file
    if est_file.suffix == ".json":
        return json.loads(est_file.read_text())
    if meta.estimator.name == "xgboost":
        from xgboost import XGBClassifier

        est = XGBClassifier(n_jobs=1)
        est.load_model(str(est_file))
        est.get_booster().set_param("nthread", 1)  # small batches: threads only add contention
        return est
    import skops.io as sio

    untrusted = sio.get_untrusted_types(file=est_file)
    bad = [t for t in untrusted if not t.startswith(_TRUSTED_MODULES)]
    if bad:
        raise ModelLoadError(f"model {str(path)!r}: {est_file.name} contains types outside scikit-learn and "
                             f"numpy ({bad[:5]}); refusing to load it.")
    return sio.load(est_file, trusted=untrusted)


def read_bundle(path: str | Path) -> tuple[ModelMetadata, Any]:
    """Verify and read a bundle written by :func:`save_bundle`; returns ``(metadata, estimator)``.

    Nothing from the directory is executed: XGBoost reads its own format, skops archives are
    loaded only if every type in them belongs to scikit-learn or numpy.
    """
    path = Path(path)
    verify_checksums(path)
    meta = _read_metadata(path)
    try:
        est = _read_estimator(path, meta)
    except ModelLoadError:
        raise
    except Exception as exc:  # a corrupt estimator file that still matched its checksum
        raise ModelLoadError(f"model {str(path)!r}: could not read {meta.estimator.file}: {exc}") from None
    return meta, est


def find_bundle(folder: str | Path) -> Path | None:
    """The bundle directory of a model folder: the folder itself, or ``artifacts/<name>`` of an MLflow model."""
    folder = Path(folder)
    if (folder / "model.json").is_file():
        return folder
    artifacts = folder / "artifacts"
    if artifacts.is_dir():
        for child in sorted(artifacts.iterdir()):
            if (child / "model.json").is_file():
                return child
    return None


def shipped_models_dir() -> Path:
    """The folder of shipped models: ``$ICIPREDICT_MODELS`` when set, else the package's ``shipped/``."""
    env = os.environ.get(MODELS_ENV)
    if env:
        return Path(env)
    return Path(str(files("icipredict") / "shipped"))


def shipped_models() -> list[str]:
    """Names of the shipped models (sub-folders holding a bundle)."""
    root = shipped_models_dir()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and find_bundle(p) is not None)


def shipped_model_path(name: str) -> Path:
    """Folder of a shipped model (an MLflow model directory holding the bundle).

    Raises :class:`ModelLoadError` naming the known models when there is none of that name.
    """
    root = shipped_models_dir()
    path = root / name
    if "/" in name or "\\" in name or not path.is_dir() or find_bundle(path) is None:
        raise ModelLoadError(f"no shipped model named {name!r}; expected one of {shipped_models()} "
                             f"(looked in {str(root)!r}).")
    return path
