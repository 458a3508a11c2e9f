"""`mmdlm train`: the staged training (unimodal stages, then multimodal ones) on a seeded holdout split."""

from __future__ import annotations

from pathlib import Path

import typer

from mmdlm.cli.common import CONFIG_OPTION, resolve_config


def register(app: typer.Typer) -> None:
    """Add the `train` command."""

    @app.command("train")
    def train(
        cohort: Path = typer.Option(..., "--cohort", help="Cohort folder (manifest from `mmdlm ingest`)"),
        tiles: Path = typer.Option(None, "--tiles", help="Tile store folder (`mmdlm tile`)"),
        radiology: Path = typer.Option(
            None, "--radiology", help="Radiology store folder (`mmdlm radiology`)"
        ),
        out: Path = typer.Option(
            ..., "--out", help="Output folder: split.json, <configuration>/{best,last}.ckpt"
        ),
        task: str = typer.Option(
            "cox", "--task", help="cox (risk), 5yss (5-year survival status) or discrete (time-bin hazards)"
        ),
        configuration: list[str] = typer.Option(
            None, "--configuration", help="Configuration(s) to train (repeatable; default: the cv list)"
        ),
        stage: str = typer.Option(
            None, "--stage", help="Run one stage only, e.g. unimodal:radiology or multimodal:histo_radiology"
        ),
        devices: str = typer.Option(None, "--devices", help="Devices per node (number, list or 'auto')"),
        accelerator: str = typer.Option(None, "--accelerator", help="cpu, gpu, auto"),
        precision: str = typer.Option(None, "--precision", help="32-true, bf16-mixed, 16-mixed"),
        strategy: str = typer.Option(None, "--strategy", help="auto, ddp, ddp_spawn"),
        num_nodes: int = typer.Option(None, "--num-nodes", help="Nodes for multi-node DDP"),
        resume: bool = typer.Option(
            True,
            "--resume/--restart",
            help="Continue unfinished stages from last.ckpt (default) or start over",
        ),
        config: Path = CONFIG_OPTION,
    ) -> None:
        """Train the configurations' unimodal stages, then their multimodal stages initialised from them."""
        from mmdlm.cohort.paths import CohortPaths
        from mmdlm.collector import import_uncollected

        import_uncollected(("mmdlm.train.staged",))  # imported below anyway: here without collections
        from mmdlm.data.records import load_records
        from mmdlm.evaluate.cv import check_configurations, check_task
        from mmdlm.train.fit import Devices
        from mmdlm.train.holdout import holdout_split
        from mmdlm.train.staged import run_stages

        cfg = resolve_config(config)
        check_task(task)
        configurations = check_configurations(configuration, cfg.cv.configurations)
        records = load_records(CohortPaths(cohort, tiles, radiology), cfg)
        out.mkdir(parents=True, exist_ok=True)
        tr, va = holdout_split(records, task, cfg.train.holdout_fraction, cfg.seed, out / "split.json")
        n_dev = int(devices) if devices is not None and devices.isdigit() else devices
        dev = Devices(accelerator=accelerator, devices=n_dev, precision=precision, strategy=strategy,
                      num_nodes=num_nodes)
        best = run_stages(cfg, task, tr, va, out, configurations, devices=dev, resume=resume, only=stage)
        for conf, path in best.items():
            typer.echo(f"{conf}: {path}")
