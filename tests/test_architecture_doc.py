"""docs/architecture.md's package tree is the package: every top-level module and sub-package of gear_seg_ros/ has
its line, no line names one that is gone, and every `name.py` the tree mentions exists in the package."""
from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "gear_seg_ros"


def tree_block() -> str:
    text = (REPO / "docs" / "architecture.md").read_text()
    start = text.index("```\ngear_seg_ros/\n") + 4
    return text[start:text.index("```", start)]


def top_level_entries(block: str) -> set[str]:
    return {m.group(1) for m in re.finditer(r"^  ([a-z_]+(?:\.py|/))\s", block, flags=re.MULTILINE)}


def test_tree_lists_every_top_level_entry():
    actual = {p.name + "/" for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    actual |= {p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py"}
    listed = top_level_entries(tree_block())
    assert not actual - listed, f"docs/architecture.md's tree leaves out {sorted(actual - listed)}"
    assert not listed - actual, f"docs/architecture.md's tree names what the package no longer has: " \
        f"{sorted(listed - actual)}"


def test_every_module_the_tree_names_exists():
    files = {p.name for p in PACKAGE.rglob("*.py")}
    missing = []
    for path in re.findall(r"(?<![\w/`])`?([\w/]*\.py)\b", tree_block()):
        if "/" in path:  # a path: in the package or from the repo root (models/fetch.py)
            found = (PACKAGE / path).exists() or (REPO / path).exists() or any(PACKAGE.rglob(path))
        else:
            found = path in files
        if not found:
            missing.append(path)
    assert not missing, f"docs/architecture.md's tree names modules that do not exist: {sorted(missing)}"


def test_the_checker_sees_a_missing_line():
    block = "gear_seg_ros/\n  config.py        schema\n  segment/         stage 1\n"
    assert top_level_entries(block) == {"config.py", "segment/"}
