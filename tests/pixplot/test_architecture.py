"""The nevers of docs/architecture.md, checked on the source: who may import whom."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
STAGES = REPO / "pixplot" / "stages"


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at any depth (imports inside functions count too)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
    return out


@pytest.mark.parametrize("stage", sorted(p.stem for p in STAGES.glob("*.py") if p.stem != "__init__"))
def test_no_stage_imports_another_stage_the_pipeline_or_the_cli(stage):
    bad = {m for m in imports(STAGES / f"{stage}.py")
           if m.startswith("pixplot.stages") or m in ("pixplot.pipeline", "pixplot.cli")}
    assert not bad, f"pixplot/stages/{stage}.py imports {sorted(bad)}"


def test_pixplot_never_imports_seeen_ext():
    bad = [str(p.relative_to(REPO)) for p in (REPO / "pixplot").rglob("*.py")
           if any(m.split(".")[0] == "seeen_ext" for m in imports(p))]
    assert bad == []


@pytest.mark.parametrize("module", ["seeen_ext/store.py", "seeen_ext/upload.py"])
def test_the_store_and_the_uploader_never_import_flask(module):
    assert not {m for m in imports(REPO / module) if m.split(".")[0] in ("flask", "werkzeug")}


def test_the_check_sees_imports_inside_functions_too():
    assert "pixplot.stages.ingest" in imports(REPO / "pixplot" / "pipeline.py")
    assert "pixplot.sample_fit.sample_fit_layout" in imports(REPO / "pixplot" / "project.py")  # a lazy import
