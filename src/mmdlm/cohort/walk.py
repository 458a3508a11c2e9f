"""Walking an input folder: files below it in sorted order, following symlinked folders (each real folder
once, so a link loop ends), hidden files and folders skipped."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Walk:
    """Files found (paths as reached, below the root) and the symlinked folders that were followed."""

    files: list[Path] = field(default_factory=list)
    followed_links: list[Path] = field(default_factory=list)
    loops: list[Path] = field(default_factory=list)


def walk_files(root: str | Path) -> Walk:
    """Every non-hidden file below `root`, following folder symlinks; a link back to a folder already walked
    is listed under `loops` and not entered again."""
    root = Path(root)
    out = Walk()
    seen = {os.path.realpath(root)}
    for folder, dirs, files in os.walk(root, followlinks=True):
        keep = []
        for d in sorted(dirs):
            if d.startswith("."):
                continue
            path = Path(folder) / d
            real = os.path.realpath(path)
            if real in seen:
                out.loops.append(path)
                continue
            seen.add(real)
            if path.is_symlink():
                out.followed_links.append(path)
            keep.append(d)
        dirs[:] = keep
        out.files += [Path(folder) / f for f in sorted(files) if not f.startswith(".")]
    out.files.sort()
    return out


def link_warnings(walk: Walk, what: str) -> list[str]:
    """Summary warnings of a walk: symlinked folders followed, link loops not entered."""
    out = []
    if walk.followed_links:
        out.append(f"{len(walk.followed_links)} symlinked folder(s) in the {what} folder followed, e.g. "
                   f"{walk.followed_links[0]}")
    if walk.loops:
        out.append(f"{len(walk.loops)} symlink(s) in the {what} folder lead to a folder already scanned "
                   f"(not entered twice), e.g. {walk.loops[0]}")
    return out
