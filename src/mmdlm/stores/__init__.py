"""mmdlm.stores: what every store stage shares (N inputs -> N resumable per-item outputs).

- freshness: the one freshness rule (input signature + parameters hash)
- runner:    `run_store_stage`: folder lock, sweep of stale temporaries, fan-out on mmdlm.executor,
             progress bar, typed per-item results (`ItemResult`, status vocabulary `STATUSES`), summary.json
"""
