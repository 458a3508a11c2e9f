"""The typed contracts between stages: pydantic schemas of the results files evaluate writes and report
reads (metrics.json, the external cohort's metrics.json, report.json), and their validated reading and
writing. Floor 1 (schemas only): it imports the ground floor and nothing else of mmdlm."""

from mmdlm.lazy import lazy_exports

_EXPORTS = {name: "mmdlm.results.files" for name in ("read_metrics", "write_metrics", "read_result",
                                                     "write_result", "read_external_metrics")}
_EXPORTS.update({name: "mmdlm.results.metrics"
                 for name in ("MetricsFile", "TaskMetrics", "ConfigurationEntry", "ExternalMetrics")})
_EXPORTS.update({"ReportData": "mmdlm.results.report", "validate": "mmdlm.results.base",
                 "json_safe": "mmdlm.results.base"})
__getattr__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
