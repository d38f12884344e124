"""The prediction path's speed as ratios to the model's own floor, measured side by side in one run.

Issue 9 item 8 asks for three ratios, each against XGBoost ``inplace_predict`` on a float32 matrix
of the same width as the model's matrix, on one thread:

1. one patient (a dict; a one-row DataFrame for information), ``predict(..., model=M)`` median vs
   ``inplace_predict`` on one row: <= 30x;
2. 10,000 patients (a DataFrame): <= 4x;
3. a 200,000-patient CSV streamed with ``icipredict predict --chunk-size 50000`` (a real process:
   interpreter start, import, model load, reading, validation, prediction, writing) vs a plain
   script doing pandas chunks + ``inplace_predict`` + CSV append (also a real process): <= 2.5x.

The script is model-agnostic: it times ``predict(..., model=M)`` for whatever ``--model`` is, and
the XGBoost floor separately (a reference booster of 100 depth-3 trees on random data of the
model's width, one thread), so it keeps working when the model changes. "The model's width" is the
number of columns of the matrix the model itself multiplies (:func:`_width`): for the shipped spline
logistic, its design columns plus the TIL term's column (11), not the schema's 46 predictor columns. It also reports the part
of each call that is not the model: ``predict`` minus ``LoadedModel.predict_proba`` on the same
clean table (validation, warnings, TIME class, missing inputs, output frame).

    python benchmarks/speed_ratios.py [--model public] [--n-stream 200000] [--repeats 3] [--n-ids 1000000]

It also times, for information, the streaming duplicate-id check (:class:`icipredict.table.schema.IdSet`)
over ``--n-ids`` distinct ids added ``--chunk-size`` at a time.

Writes benchmarks/results/speed_ratios.json with the machine's load average before and after.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import PYTHON, load_average, machine, write_json  # noqa: E402

TARGETS = {"one_patient": 30.0, "n10k": 4.0, "stream_200k": 2.5}

FLOOR_SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np, pandas as pd, xgboost as xgb
    src, out, model, chunk = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    booster = xgb.Booster(model_file=model)
    booster.set_param({"nthread": 1})
    width = booster.num_features()
    first = True
    for df in pd.read_csv(src, chunksize=chunk):
        X = df.select_dtypes("number").to_numpy(dtype=np.float32)
        X = np.pad(X, ((0, 0), (0, max(0, width - X.shape[1]))))[:, :width]
        p = booster.inplace_predict(X)
        pd.DataFrame({"patient_id": df["patient_id"], "p": p}).to_csv(out, mode="w" if first else "a",
                                                                      header=first, index=False)
        first = False
""")


def _median_ms(fn, repeats: int, warm: int = 3) -> float:
    for _ in range(warm):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def _width(loaded) -> tuple[int, str]:
    """Columns of the matrix the model multiplies or splits on, and how they were counted.

    The spline logistic: its design columns (spline bases of the continuous inputs, one column per
    other input) plus the TIL term's column when the model has one; a tree model: its feature
    columns; anything else: the schema's predictor columns.
    """
    fitted = loaded.model
    base = fitted.base
    if fitted.family == "spline_logistic":
        til = int(fitted.til_term.source != "none")
        return len(base.columns_) + til, (f"{len(base.columns_)} design columns of the spline logistic on "
                                          f"{len(base.used_inputs_)} inputs ({', '.join(base.columns_)})"
                                          + (" + 1 TIL-term column" if til else ""))
    names = getattr(base, "feature_names_", None)
    if names:
        return len(names), f"{len(names)} feature columns of the {fitted.family} model"
    from icipredict.table.schema import PREDICTORS

    return len(PREDICTORS), f"{len(PREDICTORS)} predictor columns of the schema"


def _reference_booster(width: int, path: Path):
    import xgboost as xgb

    rng = np.random.default_rng(0)
    X = rng.random((2000, width), dtype=np.float32)
    y = (X[:, 0] + rng.random(2000) > 1).astype(int)
    booster = xgb.train({"max_depth": 3, "nthread": 1, "objective": "binary:logistic"},
                        xgb.DMatrix(X, label=y), num_boost_round=100)
    booster.save_model(str(path))
    booster.set_param({"nthread": 1})
    return booster


def _duplicate_ids(n: int, chunk: int) -> dict:
    """Time of :class:`icipredict.table.schema.IdSet` over ``n`` distinct ids added ``chunk`` at a time, as streaming
    does, and whether it still finds a repeated id after them (O(n log n): sorted runs of 64-bit hashes)."""
    from icipredict.table.schema import IdSet

    ids = np.array([f"SYN-{i:07d}" for i in range(n)], dtype=object)
    seen = IdSet()
    t0 = time.perf_counter()
    false_repeats = sum(int(seen.add(ids[start:start + chunk]).sum()) for start in range(0, n, chunk))
    seconds = time.perf_counter() - t0
    found = seen.add(np.array([ids[n // 2], "not-seen"], dtype=object)).tolist() == [True, False]
    return {"n": n, "chunk_size": chunk, "seconds": seconds, "us_per_id": seconds / n * 1e6,
            "false_repeats": false_repeats, "repeat_found": found}


def _run(cmd: list[str], cwd: Path) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[:4]} failed:\n{proc.stderr[-2000:]}")
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="public")
    parser.add_argument("--n-stream", type=int, default=200_000)
    parser.add_argument("--chunk-size", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=3, help="repeats of the stream runs (median)")
    parser.add_argument("--n-ids", type=int, default=1_000_000, help="ids for the duplicate-id check timing")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    import icipredict
    from icipredict.io import write_table
    from icipredict.io.synthetic import synthetic_cohort
    from icipredict.table.schema import check_patients

    info = machine()
    loaded = icipredict.load_model(args.model)
    patients = synthetic_cohort(10_000, seed=11, outcomes=False)
    clean = check_patients(patients)
    width, width_note = _width(loaded)
    results: dict = {"model": args.model, "model_version": loaded.version, "matrix_width": width,
                     "matrix_width_note": width_note, "threads": 1}

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        booster = _reference_booster(width, tmp / "floor.ubj")
        rng = np.random.default_rng(1)
        X1 = rng.random((1, width), dtype=np.float32)
        X10k = rng.random((10_000, width), dtype=np.float32)

        # 1. one patient
        one = {k: v for k, v in patients.iloc[0].to_dict().items() if not (isinstance(v, float) and np.isnan(v))}
        one_clean = check_patients(patients.head(1))
        floor_one = _median_ms(lambda: booster.inplace_predict(X1), 300)
        pkg_one = _median_ms(lambda: icipredict.predict(one, model=loaded), 200)
        row = patients.head(1)
        pkg_row = _median_ms(lambda: icipredict.predict(row, model=loaded), 200)
        model_one = _median_ms(lambda: loaded.predict_proba(one_clean), 200)
        results["one_patient"] = {"package_ms": pkg_one, "floor_ms": floor_one, "ratio": pkg_one / floor_one,
                                  "one_row_frame_ms": pkg_row, "one_row_frame_ratio": pkg_row / floor_one,
                                  "model_predict_proba_ms": model_one,
                                  "non_model_ms": pkg_one - model_one,
                                  "non_model_ratio": (pkg_one - model_one) / floor_one}

        # 2. 10,000 patients
        floor_10k = _median_ms(lambda: booster.inplace_predict(X10k), 20)
        pkg_10k = _median_ms(lambda: icipredict.predict(patients, model=loaded), 30, warm=2)
        model_10k = _median_ms(lambda: loaded.predict_proba(clean), 30, warm=2)
        results["n10k"] = {"package_ms": pkg_10k, "floor_ms": floor_10k, "ratio": pkg_10k / floor_10k,
                           "model_predict_proba_ms": model_10k, "non_model_ms": pkg_10k - model_10k,
                           "non_model_ratio": (pkg_10k - model_10k) / floor_10k}

        # 3. a streamed CSV, both as real processes
        big = tmp / "big.csv"
        write_table(synthetic_cohort(args.n_stream, seed=12, outcomes=False), big)
        (tmp / "floor.py").write_text(FLOOR_SCRIPT)
        floor_cmd = [PYTHON, str(tmp / "floor.py"), str(big), str(tmp / "floor_out.csv"), str(tmp / "floor.ubj"),
                     str(args.chunk_size)]
        env_model = args.model if not Path(args.model).exists() else str(Path(args.model).resolve())
        pkg_cmd = [PYTHON, "-m", "icipredict.cli", "predict", "--model", env_model, "--input", str(big), "--output",
                   str(tmp / "pkg_out.csv"), "--chunk-size", str(args.chunk_size), "--quiet"]
        floor_s, pkg_s = [], []
        for _ in range(args.repeats):  # interleaved, so both see the same machine load
            floor_s.append(_run(floor_cmd, tmp))
            pkg_s.append(_run(pkg_cmd, tmp))
        f, p = statistics.median(floor_s), statistics.median(pkg_s)
        results["stream_200k"] = {"n": args.n_stream, "chunk_size": args.chunk_size, "package_s": p, "floor_s": f,
                                  "ratio": p / f, "package_runs_s": pkg_s, "floor_runs_s": floor_s}

    # 4. for information: the streaming duplicate-id check over --n-ids ids, in chunks of --chunk-size
    results["duplicate_ids"] = _duplicate_ids(args.n_ids, args.chunk_size)

    results["targets"] = TARGETS
    results["meets_targets"] = {k: results[k]["ratio"] <= v for k, v in TARGETS.items()}
    results["machine"] = {**info, "load_average_end": load_average()}
    out = write_json("speed_ratios.json", results)
    for key in TARGETS:
        r = results[key]
        extra = f", non-model part {r['non_model_ratio']:.1f}x" if "non_model_ratio" in r else ""
        print(f"{key:<12} ratio {r['ratio']:6.2f}x (target <= {TARGETS[key]}x){extra}")
    d = results["duplicate_ids"]
    print(f"duplicate-id check: {d['n']:,} ids in chunks of {d['chunk_size']:,} in {d['seconds']:.2f} s "
          f"({d['us_per_id']:.2f} us/id), repeat found: {d['repeat_found']}")
    print(f"matrix width {width}: {width_note}")
    print(f"load average start {info['load_average_start']}, end {results['machine']['load_average_end']}; "
          f"written to {out}")


if __name__ == "__main__":
    main()
