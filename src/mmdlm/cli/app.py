"""The `mmdlm` command line: a typer app; each command lives in its own module and calls one package."""

from __future__ import annotations

import gc
import importlib
import sys

import typer

from mmdlm.errors import MmdlmError

#: Command modules under mmdlm.cli; each exposes `register(app)`.
COMMAND_MODULES: tuple[str, ...] = (
    "synth",
    "ingest",
    "tile",
    "features",
    "radiology",
    "train",
    "cv",
    "baselines",
    "evaluate",
    "explain",
    "report",
    "demo",
    "config_cmd",
)


def build_app() -> typer.Typer:
    """Create the typer app with every command registered."""
    app = typer.Typer(
        name="mmdlm",
        help="Multimodal deep learning for cancer prognosis: histology (10x, 5x), radiology and genomics.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )
    for name in COMMAND_MODULES:
        importlib.import_module(f"mmdlm.cli.{name}").register(app)
    return app


def leave_without_final_collection() -> None:
    """Exclude every live object from the garbage collector's last pass at interpreter exit (gc.freeze): with
    torch and Lightning imported that pass takes 1.5 s of a command's wall time and frees nothing the
    operating system would not. Outputs are written and closed before; only a process about to exit calls
    it."""
    gc.freeze()


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors and the operating system's refusals (OSError) become one line on stderr naming
    the file and the cause, exit code 2. With argv None (the process's own command line: the `mmdlm` script,
    `python -m mmdlm.cli`) the process leaves without the final collection; in-process callers pass argv."""
    app = build_app()
    try:
        app(args=argv, prog_name="mmdlm")
    except MmdlmError as exc:
        print(f"mmdlm: error: {exc.one_line()}", file=sys.stderr)
        sys.exit(2)
    except OSError as exc:  # the operating system said no: read-only folder, full disk, name too long
        from mmdlm.oserrors import describe

        where, cause = describe(exc)
        print(f"mmdlm: error: {MmdlmError(cause, file=where).one_line()}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("mmdlm: interrupted", file=sys.stderr)
        sys.exit(130)
    finally:
        if argv is None:
            leave_without_final_collection()


if __name__ == "__main__":
    main()
