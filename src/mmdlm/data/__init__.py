"""mmdlm.data: patient records, random training combinations, the fixed evaluation product, collation."""

from mmdlm.data.records import PatientRecord, load_records, n_genomic, records_from_arrays
from mmdlm.data.samples import EpochSampler, EvalSamples, TrainSamples, collate, fixed_images

__all__ = [
    "EpochSampler",
    "EvalSamples",
    "PatientRecord",
    "TrainSamples",
    "collate",
    "fixed_images",
    "load_records",
    "n_genomic",
    "records_from_arrays",
]
