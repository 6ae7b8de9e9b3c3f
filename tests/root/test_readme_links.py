"""Issue 24: the README points only at documents in this repository (the extract formats were a
path outside it)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def test_every_link_of_the_readme_is_a_file_of_the_repository():
    links = [target.split("#")[0] for target in re.findall(r"\]\(([^)\s]+)\)", README)
             if not target.startswith(("http://", "https://", "mailto:", "#"))]
    assert links, "the README has no links: the test reads it wrongly"
    missing = [link for link in links if not (ROOT / link).resolve().is_relative_to(ROOT) or not (ROOT / link).exists()]
    assert missing == []


def test_the_readme_names_no_path_outside_the_repository():
    assert "../" not in README
    assert "[docs/extract-formats.md](docs/extract-formats.md)" in README


def test_the_readme_says_how_to_get_the_chromium_the_browser_tests_and_ci_use():
    """The browser tests' skip reason and .ci/run's install name the same Debian package."""
    assert "sudo apt-get install chromium" in README
    assert "apt-get install chromium" in (ROOT / "tests" / "conftest.py").read_text()
    assert 'missing="$missing chromium"' in (ROOT / ".ci" / "run").read_text()
