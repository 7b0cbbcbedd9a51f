"""README.md and docs/: every link stays inside the repository and leads somewhere, and the README
points a newcomer at every document and command."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _anchors(md: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    out = set()
    for line in md.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            out.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return out


def test_every_relative_link_leads_to_a_file_inside_the_repository():
    for md in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        for target in LINK.findall(md.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+:", target):  # http(s), mailto: outside links are fine as such
                continue
            path, _, anchor = target.partition("#")
            dest = (md.parent / path).resolve() if path else md
            assert dest.is_relative_to(REPO), f"{md.name} links outside the repository: {target}"
            assert dest.exists(), f"{md.name} links to a missing file: {target}"
            if anchor and dest.suffix == ".md":
                assert anchor in _anchors(dest), f"{md.name}: no heading for #{anchor} in {path or md.name}"


def test_readme_links_every_document_and_says_each_command():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    links = {t.partition("#")[0] for t in LINK.findall(readme)}
    for doc in ["api", "viewer", "faces", "evaluate", "scale", "plugins", "bundle", "architecture"]:
        assert f"docs/{doc}.md" in links, doc
    for command in ["serve", "upload", "evaluate", "recognize"]:
        assert re.search(rf"^## .*`pixplot {command}`", readme, re.M), command
