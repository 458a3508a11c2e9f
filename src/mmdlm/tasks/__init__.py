"""Prediction tasks as objects: one `Task` per task (Cox risk, 5YSS, discrete-time survival), registered in
mmdlm.tasks.registry. Config keeps task names as strings; `get_task` resolves them once. Torch is imported
only inside the methods that need it, so configs and `mmdlm --help` stay light."""

from mmdlm.lazy import by_module, lazy_exports

_EXPORTS = by_module(__name__, {"registry": "get_task task_names check_task_name", "base": "Task RiskTask",
                                "targets": "Targets"})
__getattr__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
