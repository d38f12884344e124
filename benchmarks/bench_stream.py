"""Streaming prediction benchmark: ``icipredict predict --chunk-size`` on 1,000,000 patients.

1. Writes ``--n`` (default 1,000,000) synthetic patients without outcomes to ``big.csv`` and
   ``big.parquet`` in a temporary directory, generated in chunks of 100,000 with different seeds
   (seed 1000 + chunk index) so that the generator's memory stays low; ``patient_id`` is renumbered
   with the chunk offset (``SYN-0000001`` ...) so ids are unique across chunks. The Parquet file is
   written with pyarrow, one row group per generated chunk.
2. Runs, for each input, ``icipredict predict --model M --input big.<ext> --output out.csv
   --chunk-size 50000 --quiet`` in a subprocess, measuring its wall time and peak RSS (``ru_maxrss``
   of that child from ``os.wait4``; KB on Linux).
3. Checks the output: ``--n`` rows, the input ids in order, all probabilities finite and in [0, 1].

Model: ``--model`` or, by default, the shipped ``public`` model (else configs/default.yaml trained
once into the temporary directory, tracking disabled).

    python benchmarks/bench_stream.py [--n 1000000] [--chunk-size 50000] [--model public]

Writes benchmarks/results/stream.json and prints a markdown table. ``--n 20000`` is a dry run
(written to stream_dryrun.json unless --output is given).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load_average, machine, markdown_table, run_child, write_json  # noqa: E402
from bench_predict import _resolve_model  # noqa: E402

GEN_CHUNK = 100_000


def write_inputs(n: int, folder: Path) -> tuple[Path, Path, float]:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from icipredict.io.synthetic import synthetic_cohort

    csv, parquet = folder / "big.csv", folder / "big.parquet"
    t0 = time.perf_counter()
    writer = schema = None
    for k, start in enumerate(range(0, n, GEN_CHUNK)):
        size = min(GEN_CHUNK, n - start)
        df = synthetic_cohort(max(size, 1), seed=1000 + k, outcomes=False)
        ids = np.arange(start + 1, start + size + 1).astype(str)
        df["patient_id"] = np.char.add("SYN-", np.char.zfill(ids, 7)).astype(object)
        df.to_csv(csv, index=False, header=(k == 0), mode="w" if k == 0 else "a")
        table = pa.Table.from_pandas(df, schema=schema, preserve_index=False)
        if writer is None:
            schema = table.schema
            writer = pq.ParquetWriter(parquet, schema)
        writer.write_table(table, row_group_size=GEN_CHUNK)
        del df, table
    writer.close()
    return csv, parquet, time.perf_counter() - t0


def check_output(out: Path, n: int) -> dict:
    import numpy as np
    import pandas as pd

    df = pd.read_csv(out, usecols=["patient_id", "p_durable_benefit"])
    p = df["p_durable_benefit"].to_numpy(float)
    expected = np.char.add("SYN-", np.char.zfill(np.arange(1, n + 1).astype(str), 7))
    return {"rows": int(len(df)), "rows_ok": len(df) == n,
            "ids_in_order": bool(len(df) == n and (df["patient_id"].to_numpy(str) == expected).all()),
            "all_finite_0_1": bool(np.isfinite(p).all() and (p >= 0).all() and (p <= 1).all()),
            "mean_p": float(np.nanmean(p)) if len(p) else None}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--chunk-size", type=int, default=50_000)
    ap.add_argument("--model", default=None)
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds per CLI run (default 1800)")
    ap.add_argument("--output", default=None, help="file name under benchmarks/results/ (default stream.json, "
                                                   "stream_dryrun.json when --n < 1,000,000)")
    args = ap.parse_args(argv)
    name = args.output or ("stream.json" if args.n >= 1_000_000 else "stream_dryrun.json")
    exe = shutil.which("icipredict")
    base_cmd = [exe] if exe else [sys.executable, "-m", "icipredict.cli"]
    payload = {"machine": machine(), "n": args.n, "chunk_size": args.chunk_size, "runs": []}
    with tempfile.TemporaryDirectory(prefix="icibench_stream_") as tmp:
        tmp = Path(tmp)
        model, note = _resolve_model(args.model, tmp)
        payload |= {"model": model, "model_note": note}
        print(f"[bench_stream] writing {args.n:,} patients ...", file=sys.stderr, flush=True)
        csv, parquet, gen_s = write_inputs(args.n, tmp)
        payload["generate_s"] = gen_s
        payload["input_mb"] = {"csv": csv.stat().st_size / 2**20, "parquet": parquet.stat().st_size / 2**20}
        for path in (csv, parquet):
            out = tmp / "out.csv"
            cmd = [*base_cmd, "predict", "--model", model, "--input", str(path), "--output", str(out),
                   "--chunk-size", str(args.chunk_size), "--quiet"]
            before = load_average()
            print(f"[bench_stream] {path.name}: load average {before} ...", file=sys.stderr, flush=True)
            err = tmp / "stderr.txt"
            with open(err, "wb") as fh:
                code, wall, rss = run_child(cmd, stderr=fh, timeout=args.timeout)
            run = {"input": path.suffix[1:], "command": " ".join(cmd[-10:]), "exit_code": code, "wall_s": wall,
                   "peak_rss_mb": rss, "patients_per_s": args.n / wall, "load_average_before": before,
                   "load_average_after": load_average()}
            if code == 0 and out.is_file():
                run |= check_output(out, args.n)
            else:
                run["error"] = "timeout" if code is None else err.read_text(errors="replace")[-2000:]
            payload["runs"].append(run)
            out.unlink(missing_ok=True)
            print(f"[bench_stream] {path.name}: exit {code}, {wall:.1f} s, peak RSS {rss:.0f} MB",
                  file=sys.stderr, flush=True)
    path = write_json(name, payload)
    rows = [[r["input"], f"{args.n:,}", f"{r['wall_s']:.1f}", f"{r['patients_per_s']:,.0f}", f"{r['peak_rss_mb']:.0f}",
             r.get("rows", "-"), "yes" if r.get("ids_in_order") and r.get("all_finite_0_1") else "NO",
             r["load_average_before"][0]] for r in payload["runs"]]
    print(f"model: {payload['model']} ({payload['model_note']}); chunk size {args.chunk_size:,}; inputs generated in "
          f"{gen_s:.0f} s (CSV {payload['input_mb']['csv']:.0f} MB, Parquet {payload['input_mb']['parquet']:.1f} MB)")
    print(markdown_table(["input", "patients", "wall s", "patients/s", "peak RSS MB", "output rows",
                          "ids in order, p finite", "load avg (1 min) before"], rows))
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
