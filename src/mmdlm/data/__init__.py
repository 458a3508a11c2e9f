"""mmdlm.data: patient records, random training combinations, the fixed evaluation product, collation.

The public names are imported lazily (PEP 562) so that `mmdlm.config`, which reads `mmdlm.data.config`,
does not import torch: `mmdlm --help` stays fast.
"""

from mmdlm.lazy import lazy_exports

_EXPORTS = {
    "PatientRecord": "mmdlm.data.records",
    "load_records": "mmdlm.data.records",
    "n_genomic": "mmdlm.data.records",
    "records_from_arrays": "mmdlm.data.records",
    "EpochSampler": "mmdlm.data.samples",
    "EvalSamples": "mmdlm.data.samples",
    "TrainSamples": "mmdlm.data.samples",
    "collate": "mmdlm.data.samples",
    "fixed_images": "mmdlm.data.samples",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
