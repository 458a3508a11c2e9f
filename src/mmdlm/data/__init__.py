"""mmdlm.data: patient records, random training combinations, the fixed evaluation product, collation.

The public names are imported lazily (PEP 562) so that `mmdlm.config`, which reads `mmdlm.data.config`,
does not import torch: `mmdlm --help` stays fast.
"""

from mmdlm.lazy import by_module, lazy_exports

_EXPORTS = by_module(__name__, {
    "batch": "Batch",
    "records": "PatientRecord load_records n_genomic records_from_arrays",
    "samples": "EpochSampler EvalSamples TrainSamples collate fixed_images",
})

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
