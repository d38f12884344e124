"""Maintainers' step: train a config and ship its model as package data (an MLflow model directory).

    python scripts/ship_model.py --config configs/public_cohorts.yaml --name public [--data-root PATH]

Training itself never writes into ``src/icipredict/shipped`` (it refuses to): this script trains into a
temporary directory, wraps the bundle as an MLflow model (``icipredict.fitting.tracking.save_mlflow_model``),
checks that it loads and predicts, and only then swaps it in for the shipped model of that name. The
same config and seed give the same bundle files; MLflow's ``MLmodel`` carries its own id and time.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from icipredict import predict
from icipredict.model.bundle import shipped_models_dir
from icipredict.fitting.tracking import save_mlflow_model
from icipredict.fitting.training import train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="training config (YAML)")
    parser.add_argument("--name", required=True, help="shipped model name, e.g. public")
    parser.add_argument("--data-root", help="override data.root")
    args = parser.parse_args()
    overrides = ["tracking.enabled=false", f"output.model_name={args.name}"]
    if args.data_root:
        overrides.append(f"data.root={Path(args.data_root).resolve()}")
    target = shipped_models_dir() / args.name
    with tempfile.TemporaryDirectory() as tmp:
        bundle = Path(tmp) / "bundle"
        train(args.config, overrides=[*overrides, f"output.model_dir={bundle}"])
        staged = Path(tmp) / args.name
        save_mlflow_model(bundle, staged)
        check = predict({"patient_id": "check", "pdl1_tps": 60, "tmb": 12}, model=staged)
        assert 0 < check["p_durable_benefit"].iloc[0] < 1
        old = target.with_name(f".{args.name}.old")
        if target.exists():
            target.rename(old)
        shutil.copytree(staged, target)
        shutil.rmtree(old, ignore_errors=True)
    print(f"shipped {args.name}: {target} ({check['model_version'].iloc[0]})")  # the files are copied as checked


if __name__ == "__main__":
    main()
