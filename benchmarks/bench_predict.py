"""Prediction speed benchmark of icipredict.

Measures, on this machine:

a. ``import icipredict`` time in a fresh interpreter (median of 5) and ``icipredict --help`` wall time
   (median of 5; a whole process: interpreter start, import, argparse);
b. ``predict`` on 10,000 synthetic patients (``synthetic_cohort(10000, seed=11, outcomes=False)``),
   median of 3 after one warm-up call; target < 3 s;
c. ``predict`` on one patient with a warm (cached) model, median of 50 calls; target < 50 ms;
d. ``predict(..., explain=5)`` on the same 10,000 patients (SHAP top-5 per patient); target < 30 s.

Model: ``--model`` (a shipped name, a bundle directory or an MLflow URI). By default the shipped
``public`` model when ``icipredict.serve.predict.shipped_models()`` lists it; otherwise the default config
(configs/default.yaml) is trained once into a temporary directory with tracking disabled.

    python benchmarks/bench_predict.py [--model public] [--explain-repeats 1]

Writes benchmarks/results/predict.json and prints a markdown table.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import PYTHON, ROOT, load_average, machine, markdown_table, write_json  # noqa: E402

TARGETS = {"predict_10k_s": 3.0, "predict_one_ms": 50.0, "explain5_10k_s": 30.0}


def _import_time(repeats: int = 5, stmt: str = "import icipredict") -> tuple[float, float]:
    code = f"import time; t=time.perf_counter(); {stmt}; print(time.perf_counter()-t)"
    inner, outer = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, check=True)
        outer.append(time.perf_counter() - t0)
        inner.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(inner), statistics.median(outer)


def _help_time(repeats: int = 5) -> tuple[float, list[str]]:
    exe = shutil.which("icipredict")
    cmd = [exe, "--help"] if exe else [PYTHON, "-m", "icipredict.cli", "--help"]
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), cmd


def _resolve_model(arg: str | None, tmp: Path) -> tuple[str, str]:
    from icipredict.serve.predict import shipped_models

    if arg:
        return arg, f"--model {arg}"
    if "public" in shipped_models():
        return "public", "shipped public model"
    from icipredict.config import load_config
    from icipredict.fitting.training import train

    out = tmp / "default_model"
    cfg = load_config(ROOT / "configs" / "default.yaml",
                      overrides=["tracking.enabled=false", f"output.model_dir={out}"])
    t0 = time.perf_counter()
    result = train(cfg, quiet=True)
    return str(result.bundle_path), f"default config trained in {time.perf_counter() - t0:.0f} s (public absent)"


def _timed(fn, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=None, help="model name, directory or MLflow URI (default: public, "
                                                  "else train configs/default.yaml once)")
    ap.add_argument("--n", type=int, default=10_000, help="patients for the batch figures (default 10000)")
    ap.add_argument("--explain-repeats", type=int, default=1, help="timed explain=5 runs (median; default 1)")
    args = ap.parse_args(argv)
    info = machine()
    loads = {}

    loads["import"] = load_average()
    import_s, import_proc_s = _import_time()
    # the package imports lazily: the first use of the API pays for pandas / numpy / xgboost
    import_api_s, _ = _import_time(stmt="from icipredict import predict, load_model; import icipredict.serve.predict")
    help_s, help_cmd = _help_time()

    import numpy as np

    from icipredict.io.synthetic import synthetic_cohort
    from icipredict.serve.predict import load_model, predict

    with tempfile.TemporaryDirectory(prefix="icibench_") as tmp:
        model_ref, model_note = _resolve_model(args.model, Path(tmp))
        t0 = time.perf_counter()
        model = load_model(model_ref)
        load_s = time.perf_counter() - t0
        patients = synthetic_cohort(args.n, seed=11, outcomes=False)

        loads["predict_batch"] = load_average()
        warm = predict(patients, model=model_ref)  # warm-up (lazy imports, caches)
        assert len(warm) == args.n and np.isfinite(warm["p_durable_benefit"]).all()
        batch = _timed(lambda: predict(patients, model=model_ref), 3)

        loads["predict_one"] = load_average()
        one = patients.iloc[[0]]
        predict(one, model=model_ref)
        single = _timed(lambda: predict(one, model=model_ref), 50)
        record = {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in one.iloc[0].items()}
        single_dict = _timed(lambda: predict(record, model=model_ref), 50)

        loads["explain"] = load_average()
        predict(patients.iloc[:200], model=model_ref, explain=5)  # warm-up of the SHAP path
        expl = _timed(lambda: predict(patients, model=model_ref, explain=5), max(1, args.explain_repeats))

    figures = {
        "import_icipredict_s": import_s,
        "import_icipredict_process_s": import_proc_s,
        "import_predict_api_s": import_api_s,
        "cli_help_s": help_s,
        "model_load_s": load_s,
        "predict_10k_s": statistics.median(batch),
        "predict_10k_runs_s": batch,
        "predict_one_ms": 1000 * statistics.median(single),
        "predict_one_ms_p90": 1000 * float(np.percentile(single, 90)),
        "predict_one_dict_ms": 1000 * statistics.median(single_dict),
        "explain5_10k_s": statistics.median(expl),
        "explain5_10k_runs_s": expl,
    }
    payload = {"machine": info, "model": model_ref, "model_version": model.version, "model_note": model_note,
               "n_patients": args.n, "help_command": help_cmd, "load_average_before": loads,
               "targets": TARGETS, "figures": figures,
               "pass": {k: figures[k] < t for k, t in TARGETS.items()}}
    path = write_json("predict.json", payload)

    def verdict(key):
        return "pass" if figures[key] < TARGETS[key] else "FAIL"

    rows = [
        ["`import icipredict` (fresh interpreter, median of 5)", f"{1000 * import_s:.0f} ms", "-", "-"],
        ["`from icipredict import predict, load_model` (fresh, median of 5)", f"{1000 * import_api_s:.0f} ms",
         "-", "-"],
        ["`icipredict --help` wall time (median of 5)", f"{1000 * help_s:.0f} ms", "-", "-"],
        ["model load (cold, in process)", f"{load_s:.2f} s", "-", "-"],
        [f"predict {args.n:,} patients (median of 3, warm)", f"{figures['predict_10k_s']:.2f} s", "< 3 s",
         verdict("predict_10k_s")],
        ["predict 1 patient, DataFrame row (median of 50, warm)", f"{figures['predict_one_ms']:.1f} ms",
         "< 50 ms", verdict("predict_one_ms")],
        ["predict 1 patient, dict (median of 50, warm)", f"{figures['predict_one_dict_ms']:.1f} ms", "-", "-"],
        [f"predict {args.n:,} patients, explain=5 (median of {len(expl)})", f"{figures['explain5_10k_s']:.2f} s",
         "< 30 s", verdict("explain5_10k_s")],
    ]
    print(f"model: {model_ref} ({model_note}; version {model.version})")
    print(markdown_table(["measurement", "figure", "target", "result"], rows))
    print(f"\nload average before each step: {loads}\nwritten to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
