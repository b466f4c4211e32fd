"""Fine-tune throughput: advisor's fine-tune path against a plain `Trainer` with default arguments.

Same model, data, batch size and machine, one process; reports train samples/s of each and their
ratio. advisor's path: dynamic padding, bf16 on GPUs that support it, no checkpoints. The plain
path: the common tutorial recipe, padding to max_length, default `TrainingArguments`.

    python benchmarks/throughput.py --model minilm --train-size 256 --batch-size 16       # CPU
    python benchmarks/throughput.py --model distilbert-base-config --train-size 8000 \\
        --batch-size 32                                                                 # GPU
`distilbert-base-config` is DistilBERT-base (66M parameters) built from its config with random
weights and the BERT uncased vocabulary: the cost of a step does not depend on the weights.

`--eval-overhead` instead measures what the learning curve costs: advisor's fine-tune evaluated
after every epoch (`eval_every = "epoch"`) against the same fine-tune evaluated once at the end,
on the whole eval split (the offline study's settings below; 872 validation sentences):

    python benchmarks/throughput.py --eval-overhead --model minilm --max-length 64 \
        --train-size 600 --batch-size 16 --epochs 2

`--workers N` instead measures what `advisor grid --workers` gains on one device: the same
fine-tune (model, data, settings) in k processes at once, k = 1, 2, 4, ... up to N, each
process placed as `advisor.study.pool` places a worker (on CPU the cores split between them,
on a GPU all on the first one). The processes load and warm up, start together at a barrier,
and the aggregate train samples/s of k workers is the samples they trained over the time
from the barrier to the last one's end; `ratio` is that over the one-worker figure:

    python benchmarks/throughput.py --workers 2 --model minilm --train-size 256 \
        --batch-size 16 --max-length 128                                      # CPU, 2 cores
    python benchmarks/throughput.py --workers 8 --model distilbert-base-config \
        --train-size 4000 --batch-size 32 --max-length 128 --precision fp32    # GPU; then bf16
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DistilBertConfig,
    DistilBertForSequenceClassification,
    Trainer,
    TrainingArguments,
)

from advisor.config import StudySpec, parse_spec
from advisor.study.placement import (
    Placement,
    placed_environment,
    placements,
    usable_cores,
    visible_gpus,
)
from advisor.training.data import load_dataset
from advisor.training.finetune import FineTuner
from advisor.training.model import resolve_model

SST2 = Path(__file__).resolve().parents[2] / "shared" / "data" / "sst2"


def build_model_dir(name: str, folder: Path, tokenizer_source: str = "minilm") -> str:
    """A model directory: `minilm`, a local path, or DistilBERT-base from config."""
    if name != "distilbert-base-config":
        return resolve_model(name)
    tokenizer = AutoTokenizer.from_pretrained(resolve_model(tokenizer_source))
    tokenizer.save_pretrained(folder)
    DistilBertForSequenceClassification(DistilBertConfig(num_labels=2)).save_pretrained(folder)
    return str(folder)


END_ONLY = 2**62  # an eval_every no run reaches: only the final evaluation


def make_spec(
    model_dir: str,
    data_dir: Path,
    train_size: int,
    max_length: int,
    precision: str = "auto",
    eval_size: int | None = 64,
    eval_every: str | int = "epoch",
) -> StudySpec:
    data: dict[str, object] = {
        "source": "files",
        "train": str(data_dir / "train.tsv"),
        "eval": str(data_dir / "validation.tsv"),
        "train_size": train_size,
    }
    if eval_size is not None:
        data["eval_size"] = eval_size
    return parse_spec(
        {
            "training": {"precision": precision, "eval_every": eval_every},
            "study": {"name": "throughput"},
            "model": {"name": model_dir, "max_length": max_length},
            "data": data,
            "space": {
                "learning_rate": {"low": 1e-5, "high": 1e-4},
                "batch_size": [8],
                "epochs": {"low": 1, "high": 1},
            },
        }
    )


def advisor_path(spec: StudySpec, batch_size: int, epochs: int) -> float:
    tuner = FineTuner(spec, load_dataset(spec))
    result = tuner.run({"learning_rate": 5e-5, "batch_size": batch_size, "epochs": epochs}, 0)
    return result.train_samples_per_second


def eval_overhead(
    model_dir: str, args: argparse.Namespace, eval_size: int | None
) -> dict[str, object]:
    """The same fine-tune (seed, data, process) evaluated once at the end and after every
    epoch, then advisor's evaluation against `Trainer.predict` on the same model.

    `extra_eval_share_of_wall` is read inside the every-epoch run (its evaluations before the
    last one, over its wall time), so load from other processes on the machine, which slows
    training and evaluation alike, does not move it the way it moves a difference of two runs.
    """
    params = {"learning_rate": 1e-4, "batch_size": args.batch_size, "epochs": args.epochs}
    runs: dict[str, dict[str, float]] = {}
    for label, every in (("end_only", END_ONLY), ("every_epoch", "epoch")):
        spec = make_spec(
            model_dir, args.data, args.train_size, args.max_length, args.precision, eval_size, every
        )
        tuner = FineTuner(spec, load_dataset(spec))
        result = tuner.run(params, 0)
        runs[label] = {
            "wall_time_s": round(result.wall_time_s, 2),
            "train_seconds": round(result.train_seconds, 2),
            "eval_seconds": round(result.eval_seconds, 2),
            "evaluations": len(result.curve),
            "accuracy": result.metrics["accuracy"],
        }
    every_epoch = runs["every_epoch"]
    extra_eval = result.eval_seconds - result.curve[-1]["eval_seconds"]
    return {
        **runs,
        "eval_rows": len(tuner.eval_rows),
        "eval_batch_size": spec.training.eval_batch_size,
        "extra_eval_share_of_wall": round(extra_eval / result.wall_time_s, 4),
        "wall_time_ratio": round(every_epoch["wall_time_s"] / runs["end_only"]["wall_time_s"], 4),
        **evaluation_speed(tuner),
    }


def evaluation_speed(tuner: FineTuner, rounds: int = 2) -> dict[str, float]:
    """Seconds per evaluation of the eval split: advisor's evaluator (length-sorted, padded
    once) against `Trainer.predict` (the end-only evaluation before curves), alternated."""
    from transformers import DataCollatorWithPadding

    from advisor.training.model import load_classifier

    model = load_classifier(tuner.source, tuner.num_labels)
    with tempfile.TemporaryDirectory() as output_dir:
        predict_args = TrainingArguments(
            output_dir=output_dir,
            per_device_eval_batch_size=tuner.spec.training.eval_batch_size,
            report_to="none",
            disable_tqdm=True,
            dataloader_pin_memory=torch.cuda.is_available(),
        )
        trainer = Trainer(
            model=model, args=predict_args, data_collator=DataCollatorWithPadding(tuner.tokenizer)
        )
        ours, theirs = [], []
        for _ in range(rounds):
            started = time.perf_counter()
            tuner.evaluator.evaluate(model)
            ours.append(time.perf_counter() - started)
            started = time.perf_counter()
            trainer.predict(tuner.eval_rows)  # type: ignore[arg-type]
            theirs.append(time.perf_counter() - started)
    return {
        "evaluator_seconds": round(min(ours), 2),
        "trainer_predict_seconds": round(min(theirs), 2),
    }


def worker_counts(most: int) -> list[int]:
    """1, 2, 4, ... below `most`, then `most`."""
    counts = [1]
    while counts[-1] * 2 < most:
        counts.append(counts[-1] * 2)
    return counts if most == 1 else [*counts, most]


def concurrent_throughput(model_dir: str, args: argparse.Namespace) -> dict[str, object]:
    """Aggregate train samples/s of 1, 2, 4, ... `args.workers` concurrent fine-tunes, and
    each count's ratio to one worker."""
    gpus = visible_gpus()[:1]  # one device
    rows: list[dict[str, Any]] = []
    for count in worker_counts(args.workers):
        runs = _run_together(model_dir, args, placements(count, gpus, usable_cores()))
        began = min(r["started"] for r in runs)
        ended = max(r["ended"] for r in runs)
        samples = sum(r["samples"] for r in runs)
        rows.append(
            {
                "workers": count,
                "threads_per_worker": runs[0]["threads"],
                "aggregate_samples_per_s": round(samples / (ended - began), 2),
                # each worker's own rate over its training seconds only, summed
                "sum_of_worker_samples_per_s": round(sum(r["samples_per_s"] for r in runs), 2),
                "worker_samples_per_s": [round(r["samples_per_s"], 2) for r in runs],
                "wall_s": round(ended - began, 2),
            }
        )
    one = rows[0]["aggregate_samples_per_s"]
    for row in rows:
        row["ratio"] = round(row["aggregate_samples_per_s"] / one, 3)
    best = max(rows, key=lambda r: r["aggregate_samples_per_s"])
    return {
        "cores": usable_cores(),
        "gpu": gpus[0] if gpus else None,
        "counts": rows,
        "best_workers": best["workers"],
        "best_ratio": best["ratio"],
    }


def _run_together(
    model_dir: str, args: argparse.Namespace, where: list[Placement]
) -> list[dict[str, Any]]:
    """One fine-tune per placement, all released at one barrier; their timings."""
    context = multiprocessing.get_context("spawn")  # torch is loaded: never fork
    barrier = context.Barrier(len(where))
    results = context.Queue()
    settings = {k: getattr(args, k) for k in ("data", "train_size", "max_length", "precision")}
    settings |= {"batch_size": args.batch_size, "epochs": args.epochs}
    processes = []
    for placement in where:
        process = context.Process(
            target=_timed_worker,
            args=(model_dir, settings, placement.threads, barrier, results),
        )
        with placed_environment(placement.env()):  # threads and device, read when torch starts
            process.start()
        processes.append(process)
    runs = [results.get(timeout=3600) for _ in processes]
    for process in processes:
        process.join()
        if process.exitcode != 0:
            raise RuntimeError(f"a throughput worker exited with {process.exitcode}")
    return runs


def _timed_worker(
    model_dir: str, settings: dict[str, Any], threads: int, barrier: Any, results: Any
) -> None:
    """Load, warm up, wait for the others, fine-tune; send the timings."""
    torch.set_num_threads(threads)
    spec = make_spec(
        model_dir,
        settings["data"],
        settings["train_size"],
        settings["max_length"],
        settings["precision"],
    )
    tuner = FineTuner(spec, load_dataset(spec))
    params = {"learning_rate": 5e-5, "batch_size": settings["batch_size"], "epochs": 1}
    warm = make_spec(model_dir, settings["data"], 4 * settings["batch_size"], spec.max_length)
    FineTuner(warm, load_dataset(warm)).run(params, 0)  # first-fine-tune initialisation
    barrier.wait()
    started = time.monotonic()  # system-wide on Linux: comparable between processes
    result = tuner.run({**params, "epochs": settings["epochs"]}, 0)
    results.put(
        {
            "started": started,
            "ended": time.monotonic(),
            "samples": len(tuner.train_rows) * settings["epochs"],
            "samples_per_s": result.train_samples_per_second,
            "threads": torch.get_num_threads(),
        }
    )


def plain_trainer_path(spec: StudySpec, batch_size: int, epochs: int) -> float:
    dataset = load_dataset(spec)
    tokenizer = AutoTokenizer.from_pretrained(spec.model)
    encoded = tokenizer(
        dataset.train.texts, padding="max_length", truncation=True, max_length=spec.max_length
    )
    rows = [
        {
            "input_ids": encoded["input_ids"][i],
            "attention_mask": encoded["attention_mask"][i],
            "labels": label,
        }
        for i, label in enumerate(dataset.train.labels)
    ]
    model = AutoModelForSequenceClassification.from_pretrained(spec.model, num_labels=2)
    with tempfile.TemporaryDirectory() as output_dir:
        args = TrainingArguments(
            output_dir=output_dir,
            per_device_train_batch_size=batch_size,
            num_train_epochs=epochs,
            learning_rate=5e-5,
            report_to="none",
        )
        metrics = Trainer(model=model, args=args, train_dataset=rows).train().metrics
    return float(metrics["train_samples_per_second"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--data", type=Path, default=SST2)
    parser.add_argument("--train-size", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument(
        "--tokenizer",
        default="minilm",
        help="vocabulary for distilbert-base-config (a model name or directory)",
    )
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"])
    parser.add_argument("--json", type=Path, help="also write the result here")
    parser.add_argument(
        "--eval-overhead",
        action="store_true",
        help="compare evaluating after every epoch with evaluating once at the end",
    )
    parser.add_argument(
        "--eval-size", type=int, help="eval rows for --eval-overhead (default: the whole split)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        help="aggregate train samples/s of 1, 2, 4, ... up to this many concurrent fine-tunes",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        model_dir = build_model_dir(args.model, Path(folder), args.tokenizer)
        if args.workers:
            report(args, concurrent_throughput(model_dir, args))
            return
        if args.eval_overhead:
            _warm_up(model_dir, args)
            report(args, eval_overhead(model_dir, args, args.eval_size))
            return
        spec = make_spec(model_dir, args.data, args.train_size, args.max_length, args.precision)
        _warm_up(model_dir, args)
        ours = advisor_path(spec, args.batch_size, args.epochs)
        plain = plain_trainer_path(spec, args.batch_size, args.epochs)
    report(
        args,
        {
            "advisor_samples_per_s": round(ours, 2),
            "plain_trainer_samples_per_s": round(plain, 2),
            "ratio": round(ours / plain, 3),
        },
    )


def _warm_up(model_dir: str, args: argparse.Namespace) -> None:
    """The first fine-tune in a process pays for kernel/library initialisation."""
    advisor_path(
        make_spec(model_dir, args.data, 4 * args.batch_size, args.max_length),
        args.batch_size,
        1,
    )


def report(args: argparse.Namespace, measured: dict[str, object]) -> None:
    """Print (and with --json write) the measurement with its conditions."""
    device = (
        torch.cuda.get_device_name(0)
        if torch.cuda.is_available()
        else (
            f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"
        )
    )
    result = {
        "model": args.model,
        "device": device,
        "train_size": args.train_size,
        "batch_size": args.batch_size,
        "epochs": args.epochs,
        "max_length": args.max_length,
        "precision": args.precision,
        **measured,
        "torch": torch.__version__,
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
