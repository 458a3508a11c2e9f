"""`mmdlm ingest`: thin CLI over mmdlm.pipeline.ingest (cBioPortal + sources) and mmdlm.cohort.kits19."""

from __future__ import annotations

from pathlib import Path

import typer

from mmdlm.cli.common import CONFIG_OPTION, resolve_config
from mmdlm.errors import MmdlmError


def register(app: typer.Typer) -> None:
    """Add this module's command(s) to the app."""

    @app.command("ingest")
    def ingest_command(
        out: Path = typer.Option(..., "--out", help="manifest folder to write (docs/formats.md section 2)"),
        cbioportal: Path | None = typer.Option(None, "--cbioportal", help="cBioPortal study folder"),
        cdr: Path | None = typer.Option(
            None, "--cdr", help="TCGA-CDR-style table: fills what the study lacks"
        ),
        alterations: Path | None = typer.Option(
            None,
            "--alterations",
            help="ready alteration table (rows per slide/sample; case_id + 0/1 columns)",
        ),
        slides: Path | None = typer.Option(None, "--slides", help="slides folder (GDC layout or flat)"),
        radiology: Path | None = typer.Option(
            None, "--radiology", help="radiology folder (TCIA layout or NIfTI)"
        ),
        mapping: Path | None = typer.Option(None, "--mapping", help="CSV file,patient_id for non-TCGA names"),
        endpoint: str | None = typer.Option(None, "--endpoint", help="DSS (default), OS or PFI"),
        kits19: Path | None = typer.Option(None, "--kits19", help="KiTS19 kits.json instead of a study (OS)"),
        config: Path | None = CONFIG_OPTION,
        force: bool = typer.Option(False, "--force", help="replace an existing output folder"),
        quiet: bool = typer.Option(False, "--quiet", help="do not print the summary table"),
    ) -> None:
        """Turn a cohort (cBioPortal study, CDR, slides, radiology, alterations) into the manifest folder."""
        from mmdlm.cohort.kits19 import ingest_kits19
        from mmdlm.cohort.summary import print_summary
        from mmdlm.pipeline.ingest import IngestSources, ingest, write_result

        cfg = resolve_config(config).ingest
        if (cbioportal is None) == (kits19 is None):
            raise MmdlmError("give exactly one of --cbioportal DIR or --kits19 FILE", field="--cbioportal")
        if endpoint is not None and endpoint.upper() not in ("DSS", "OS", "PFI"):
            raise MmdlmError(f"unknown endpoint {endpoint!r} (DSS, OS or PFI)", field="--endpoint")
        if out.exists() and not force:
            raise MmdlmError("output folder exists (use --force to replace it)", file=out)
        if kits19 is not None:
            extra = [
                n
                for n, v in (
                    ("--cdr", cdr),
                    ("--alterations", alterations),
                    ("--slides", slides),
                    ("--radiology", radiology),
                    ("--mapping", mapping),
                )
                if v is not None
            ]
            if extra:
                raise MmdlmError(f"{extra[0]} cannot be combined with --kits19", field=extra[0])
            if endpoint is not None and endpoint.upper() != "OS":
                raise MmdlmError("KiTS19 has overall survival only (--endpoint OS)", field="--endpoint")
            result = ingest_kits19(kits19, cfg.kits19_subtypes, cfg.horizon_months)
        else:
            assert cbioportal is not None
            sources = IngestSources(cbioportal=cbioportal, cdr=cdr, alterations=alterations, slides=slides,
                                    radiology=radiology, mapping=mapping)
            result = ingest(sources, cfg, endpoint)
        write_result(result, out, force=force)
        if not quiet:
            print_summary(result.summary)
