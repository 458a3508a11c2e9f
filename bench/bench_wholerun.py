"""Whole-run bench: `mmdlm cv`'s work (3-fold Cox cross-validation of all seven configurations, the demo's
sizes, 4 + 3 epochs) on the demo's 120-patient synthetic cohort, in a fresh process as the command runs,
against the pure forward + backward + SGD step compute (with the validation forward and the batch-norm
recalibration's forward passes) of the same number of samples at the same sizes, measured on real batches of
the same cohort just before and just after the command (per configuration the faster of the two, so a stalled
measurement never inflates the ratio). Each compute measurement runs in a process of its own that has ended
before the command starts: the harness holds no models or batches while the command runs (a parent holding
1.5 GB made the command fault fresh memory in: 7.3-7.6 s to its first training step against 5.7-6.2 s
alone). Also the seconds from command start (interpreter start included) to the first training step, and the
science figures of the same run (science.py: each configuration's C-index beside its truth C-index).

    .venv/bin/python bench/bench_wholerun.py [OUT_DIR]
"""

from __future__ import annotations

import json
import logging
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

#: the issue's goal for the ratio compute / wall on a 2-core machine
GOAL_RATIO = 0.7
#: training batches timed per configuration for the compute (64 samples at the demo's batch size: a step's
#: time per sample is the same for every full batch of one configuration; about 12 s less than a whole epoch)
TIMED_TRAIN_BATCHES = 4
#: unimodal, multimodal epochs: fixed (the demo's until its settings rose), so the figure stays comparable
EPOCHS = (4, 3)


def _config(out: Path):
    """The demo config for one task (cox, 3 folds), written where the child process reads it."""
    from mmdlm.config import dump_config, load_config, packaged_config

    base = load_config(packaged_config("demo"))
    cfg = base.model_copy(
        update={
            "cv": base.cv.model_copy(update={"tasks": ("cox",), "folds_cox": 3}),
            "train": base.train.model_copy(
                update={"epochs_unimodal": EPOCHS[0], "epochs_multimodal": EPOCHS[1]}
            ),
        }
    )
    path = out / "wholerun.yaml"
    path.write_text(dump_config(cfg))
    return cfg, path


class _Moments(logging.Handler):
    """Remembers when the first 'training starts' debug line of mmdlm.train arrives, and the first and last
    fold lines of mmdlm.evaluate (the folds' start, the last fold trained)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.first_step: float | None = None
        self.folds_start: float | None = None
        self.folds_end: float | None = None

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if self.first_step is None and message.endswith("training starts"):
            self.first_step = time.time()
        elif message.startswith("cv: ") and "fold trainings" in message:
            self.folds_start = time.time()
        elif ": trained (" in message:
            self.folds_end = time.time()


def _peak_rss_mb() -> float | None:
    """This process's peak resident memory since its exec (VmHWM; getrusage's ru_maxrss would also count the
    parent's memory at the fork), in MiB; None where /proc has no such line."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


def child(run: Path, config: Path, cohort: Path, t_command: float) -> None:
    """What `mmdlm cv --cohort ... --run RUN --config CONFIG` does (the same trainer: nothing wrapped), with
    the moments it reaches noted from its log lines."""
    t_python = time.time()
    from mmdlm.config import load_config
    from mmdlm.pipeline.evaluate import cross_validate
    from mmdlm.pipeline.layout import CohortLayout

    moments = _Moments()
    for name, level in (("mmdlm.train", logging.DEBUG), ("mmdlm.evaluate", logging.INFO)):
        logging.getLogger(name).addHandler(moments)
        logging.getLogger(name).setLevel(level)

    t_imported = time.time()
    cfg = load_config(config)
    cross_validate(cfg, CohortLayout(cohort).paths(), run)
    t_end = time.time()
    first = moments.first_step
    (run / "wholerun.json").write_text(
        json.dumps(
            {
                "python_start_s": t_python - t_command,
                "imports_s": t_imported - t_python,
                "first_training_step_s": None if first is None else first - t_command,
                "training_s": moments.folds_end - moments.folds_start,
                "command_s": t_end - t_command,
                "max_rss_mb": _peak_rss_mb(),
            }
        )
    )
    from mmdlm.cli.app import leave_without_final_collection

    leave_without_final_collection()  # as the `mmdlm` program leaves


def _counts(cfg, records, folds: dict[str, int]) -> dict[str, dict[str, int]]:
    """Per configuration, over all folds and epochs: training samples (the loader's batches), validation
    forward samples (the evaluation product, once per validated epoch) and the forward samples of the
    batch-norm recalibration (the training patients' evaluation product, once per stage)."""
    from mmdlm.data.samples import EvalSamples, TrainSamples
    from mmdlm.modalities import CONFIGURATIONS
    from mmdlm.train.staged import plan

    by_id = {r.patient_id: r for r in records}
    batch = cfg.train.batch_size
    out: dict[str, dict[str, int]] = {}
    for k in sorted(set(folds.values())):
        train = [by_id[p] for p, f in sorted(folds.items()) if f != k]
        val = [by_id[p] for p, f in sorted(folds.items()) if f == k]
        for kind, conf, _ in plan(cfg.cv.configurations):
            epochs = cfg.train.epochs_unimodal if kind == "unimodal" else cfg.train.epochs_multimodal
            active = CONFIGURATIONS[conf]
            n = len(TrainSamples(train, active, cfg.data.image_size))
            per_epoch = n - (1 if n % batch == 1 else 0)  # a trailing batch of one is dropped
            data = cfg.data
            n_val = len(EvalSamples(val, active, data.image_size, data.val_images_per_modality, cfg.seed))
            entry = out.setdefault(conf, {"train": 0, "val": 0, "recalibration": 0})
            entry["train"] += per_epoch * epochs
            entry["val"] += n_val * (epochs // cfg.train.check_val_every_n_epoch)
            if cfg.train.recalibrate_batchnorm:  # the training patients' evaluation product, once a stage
                passes = epochs if cfg.train.select == "best_val" else 1
                cal = EvalSamples(train, active, data.image_size, data.val_images_per_modality, cfg.seed)
                entry["recalibration"] += len(cal) * passes
    return out


def _per_sample_seconds(cfg, records, conf: str) -> tuple[float, float]:
    """(fwd + bwd + SGD step, eval forward) seconds per sample of `conf` on real batches of the cohort (the
    training loader's first TIMED_TRAIN_BATCHES batches after a warm-up batch; the evaluation product of
    every patient), the models and threads as in training (nothing else: batches are collated before the
    clock starts)."""
    import torch

    from mmdlm.data.records import n_genomic
    from mmdlm.modalities import CONFIGURATIONS
    from mmdlm.train.loaders import eval_loader, train_loader
    from mmdlm.train.module import SurvivalModule

    n_gen = n_genomic(records)
    active = list(CONFIGURATIONS[conf])
    module = SurvivalModule(task="cox", configuration=conf, active=active, n_genomic=n_gen, feature_names=[],
                            image_size=cfg.data.image_size, model=cfg.model.model_dump(mode="json"),
                            optim={"lr": cfg.train.lr, "momentum": cfg.train.momentum, "weight_decay": 0.0},
                            pretrained=False)
    opt = module.configure_optimizers()
    batches = [b for b in train_loader(records, active, cfg, n_gen) if b.targets.event.sum() > 0]
    batches = batches[:TIMED_TRAIN_BATCHES]
    module.train()
    seconds = samples = 0.0
    for i, b in enumerate([batches[0], *batches]):
        t0 = time.perf_counter()
        loss = module._loss(module(b), b)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if i:  # the first batch warms up
            seconds += time.perf_counter() - t0
            samples += len(b)
    train_s = seconds / samples
    module.eval()
    evals = list(eval_loader(records, active, cfg, n_gen))
    seconds = samples = 0.0
    with torch.inference_mode():
        module(evals[0])  # warm-up
        for b in evals:
            t0 = time.perf_counter()
            module(b)
            seconds += time.perf_counter() - t0
            samples += len(b)
    return train_s, seconds / samples


def _compute(cfg, records, counts: dict[str, dict[str, int]]) -> dict[str, tuple[float, float]]:
    """Per configuration, (seconds of its training and validation samples, seconds of its recalibration
    forward samples) at the pure per-sample rates measured now (a recalibration sample at the eval rate)."""
    out = {}
    for conf, n in counts.items():
        train_s, eval_s = _per_sample_seconds(cfg, records, conf)
        out[conf] = (n["train"] * train_s + n["val"] * eval_s, n["recalibration"] * eval_s)
    return out


def _training_process(cfg) -> None:
    """This process's torch threads, allocator and determinism as the command's training sets them."""
    import torch

    from mmdlm.allocator import keep_freed_memory

    torch.set_num_threads(cfg.train.cpu_threads or torch.get_num_threads())
    if cfg.train.malloc_keep_freed:  # the allocator as the command's training sets it (mmdlm.allocator)
        keep_freed_memory()
    torch.use_deterministic_algorithms(cfg.train.deterministic)  # as Lightning sets it on CPU


def compute_child(out: Path, config: Path, cohort: Path, counts: Path) -> None:
    """`_compute` in a process of its own, as the command's training process is set up; writes
    {configuration: [seconds, recalibration seconds]} to `out`."""
    from mmdlm.config import load_config
    from mmdlm.data.records import load_records
    from mmdlm.pipeline.layout import CohortLayout

    cfg = load_config(config)
    _training_process(cfg)
    records = load_records(CohortLayout(cohort).paths(), cfg)
    out.write_text(json.dumps(_compute(cfg, records, json.loads(counts.read_text()))))


def _compute_in_child(config: Path, cohort: Path, counts: dict, scratch: Path) -> dict[str, tuple]:
    """`compute_child` run in a fresh process (ended when this returns)."""
    (scratch / "counts.json").write_text(json.dumps(counts))
    files = [str(scratch / "compute.json"), str(config), str(cohort), str(scratch / "counts.json")]
    args = ["--compute", *files]
    subprocess.run([sys.executable, __file__, *args], check=True)
    return {k: tuple(v) for k, v in json.loads((scratch / "compute.json").read_text()).items()}


def _cpu(usage: resource.struct_rusage) -> float:
    """User + system CPU seconds of a getrusage record."""
    return usage.ru_utime + usage.ru_stime


#: the config sections a prepared cohort depends on (science.py writes them beside its cohort)
COHORT_SECTIONS = ("seed", "synth", "ingest", "tiling", "radiology")


def _cohort(cfg, out: Path):
    """science.py's cohort in OUT/../science when it was prepared there with this config's cohort sections
    (the demo's), else this bench's own in OUT/cohort (written from the demo's synth section on the first run,
    kept for the next: not bench_synth's default cohort, whose seed differs)."""
    from mmdlm.pipeline.layout import CohortLayout

    science = CohortLayout(out.parent / "science" / "cohort-fixed_fov")
    dump = cfg.model_dump(mode="json")
    marker = science.root / "cohort.json"
    if marker.is_file() and json.loads(marker.read_text()) == {k: dump[k] for k in COHORT_SECTIONS}:
        return science
    layout = CohortLayout(out / "cohort")
    if layout.sources.is_symlink():  # an earlier version linked bench_synth's default cohort: all of it stale
        layout.sources.unlink()
        shutil.rmtree(layout.root)
    layout.root.mkdir(exist_ok=True)
    return layout


def run(out_dir: Path) -> dict:
    """Prepare (or reuse) the demo cohort, time the cross-validation in a fresh process, and measure the
    compute in processes of their own just before and just after it."""
    import pandas as pd

    from mmdlm.data.records import load_records
    from mmdlm.pipeline.demo import prepare_cohort

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cfg, config_path = _config(out)
    layout = _cohort(cfg, out)
    t0 = time.perf_counter()
    prepare_cohort(cfg, layout, cfg.synth, workers=cfg.demo.workers, progress=False, say=lambda _m: None)
    cohort_s = time.perf_counter() - t0
    run_dir = out / "run"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir()

    records = load_records(layout.paths(), cfg)
    from mmdlm.evaluate.cv import _population
    from mmdlm.evaluate.folds import make_folds

    # the run's folds (what `mmdlm cv` writes to RUN/folds.json: same function, same seed) for the counts
    truth, strata = _population(records, "cox")
    folds = make_folds(truth["patient_id"].tolist(), strata, cfg.cv.n_folds("cox"), cfg.seed)
    counts = _counts(cfg, records, folds)
    # the compute is measured just before and just after the command, and each configuration's faster
    # measurement is taken: a neighbour that stalls one of them (two OpenMP threads on a 2-core VM wait for
    # each other when another process takes a core: measured up to 30x slower) never inflates the ratio
    load_before = os.getloadavg()[0]
    before = _compute_in_child(config_path, layout.root, counts, out)
    t_command = time.time()
    args = ["--child", str(run_dir), str(config_path), str(layout.root), repr(t_command)]
    child_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, __file__, *args], check=True)
    wall = time.time() - t_command
    child_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    after = _compute_in_child(config_path, layout.root, counts, out)
    moments = json.loads((run_dir / "wholerun.json").read_text())
    saved = json.loads((run_dir / "folds.json").read_text())["tasks"]["cox"]["folds"]
    assert {p: int(f) for p, f in saved.items()} == folds, "the run's folds differ from the preview"
    best = {conf: min(before[conf], after[conf], key=sum) for conf in counts}
    per_conf = {conf: {"train_samples": n["train"], "val_samples": n["val"],
                       "recalibration_samples": n["recalibration"], "compute_s": round(sum(best[conf]), 2)}
                for conf, n in counts.items()}
    # the ratio's compute is every forward/backward the run needs: training steps, validation and the
    # batch-norm recalibration's forward passes (also given without the recalibration)
    compute = sum(sum(b) for b in best.values())
    without = sum(b[0] for b in best.values())
    shutil.rmtree(run_dir / "cv", ignore_errors=True)  # the fold checkpoints (about 1.5 GB)
    # the science figures of this same cross-validation (each configuration's C-index against its truth)
    from science import science_figures

    truth = pd.read_csv(layout.sources / "truth.csv", dtype={"patient_id": str})
    science = science_figures(
        json.loads((run_dir / "metrics.json").read_text()),
        truth,
        f"this bench's run: synthetic cohort {len(records)} patients, 3-fold Cox CV, configs/demo.yaml at "
        f"{cfg.data.image_size} px, {EPOCHS[0]}+{EPOCHS[1]} epochs",
    )
    return {
        "settings": {"image_size": cfg.data.image_size, "width": cfg.model.width,
                     "batch_size": cfg.train.batch_size, "epochs": [cfg.train.epochs_unimodal,
                                                                    cfg.train.epochs_multimodal],
                     "folds": 3, "configurations": len(cfg.cv.configurations), "patients": len(records)},
        "cohort_prepare_s": round(cohort_s, 1),
        "wall_s": round(wall, 1),
        "compute_s": round(compute, 1),
        "compute_without_recalibration_s": round(without, 1),
        "compute_before_after_s": [round(sum(map(sum, before.values())), 1),
                                   round(sum(map(sum, after.values())), 1)],
        "ratio": round(compute / wall, 3),
        "ratio_without_recalibration": round(without / wall, 3),
        "goal_ratio": GOAL_RATIO,
        "training_phase_s": round(moments["training_s"], 1),
        "training_phase_ratio": round(compute / moments["training_s"], 3),
        "first_training_step_s": None if moments["first_training_step_s"] is None
        else round(moments["first_training_step_s"], 2),
        "imports_s": round(moments["imports_s"], 2),
        # the command's own CPU seconds (user + system, both threads) and major page faults: a wall time far
        # above compute with CPU seconds about twice the wall is a busy process, not a waiting one
        "command_cpu_s": round(_cpu(child_after) - _cpu(child_before), 1),
        "command_major_faults": child_after.ru_majflt - child_before.ru_majflt,
        # the command's peak resident memory and its minor page faults (fresh pages: on a virtual machine
        # each is also a host fault)
        "command_max_rss_mb": None if moments["max_rss_mb"] is None else round(moments["max_rss_mb"]),
        "command_minor_faults": child_after.ru_minflt - child_before.ru_minflt,
        "load_average_1min_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "per_configuration": per_conf,
        "science": science,
    }


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]), float(sys.argv[5]))
    elif len(sys.argv) > 1 and sys.argv[1] == "--compute":
        compute_child(*(Path(a) for a in sys.argv[2:6]))
    else:
        target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp/bench_wholerun")
        print(json.dumps(run(target), indent=2))
