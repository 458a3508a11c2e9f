"""mmdlm.pipeline: the end-to-end demo (synth -> ingest -> tile -> radiology -> cv -> evaluate -> explain ->
report) in one locked run directory; each stage is the same library call its own command makes.

- config:     the `demo` config section (workers, external cohort size and seed)
- layout:     where each stage writes inside the run directory
- demo:       `run_demo(cfg, out, ...)`, what `mmdlm demo` calls
"""
