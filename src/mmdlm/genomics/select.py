"""Choosing the alteration features: the top N by number of altered patients, or an explicit list."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from mmdlm.errors import MmdlmError

KINDS: tuple[str, ...] = ("mut", "del", "amp")


def split_feature(name: str) -> tuple[str, str]:
    """'VHL_mut' -> ('VHL', 'mut'); a name without a known suffix -> (name, '')."""
    gene, _, kind = name.rpartition("_")
    return (gene, kind) if gene and kind in KINDS else (name, "")


def top_features(counts: Mapping[str, int], n: int) -> list[str]:
    """The n features altered in most patients (ties: alphabetical); features altered in nobody are never
    chosen, so fewer than n may come back."""
    ranked = sorted((f for f, c in counts.items() if c > 0), key=lambda f: (-counts[f], f))
    return ranked[:n]


def check_requested(requested: Sequence[str], known: Mapping[str, set[str]], source: str) -> list[str]:
    """Validate an explicit feature list against what the source tables hold: `known` maps a kind ('mut',
    'del', 'amp', '' for ready-table columns) to the feature names available; a missing one is an error."""
    if len(set(requested)) != len(requested):
        raise MmdlmError("alteration_features lists a feature twice", field="ingest.alteration_features")
    for name in requested:
        _, kind = split_feature(name)
        if name not in known.get(kind, set()) and name not in known.get("", set()):
            raise MmdlmError(
                f"requested alteration {name!r} is not in {source} (its gene is absent)",
                field="ingest.alteration_features",
            )
    return list(requested)
