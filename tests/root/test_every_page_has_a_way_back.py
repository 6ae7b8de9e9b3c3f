"""Every page template has breadcrumbs or a back link (issue 24, point 4), whether or not the demo
crawl (tests/root/test_demo_crawl.py) reaches it. Exempt: where a person starts or is sent when
not signed in (the sign-in steps, the dashboards) and the error pages, which link to the
dashboard in their text."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

TEMPLATES = Path(settings.BASE_DIR) / "templates"
EXEMPT_DIRS = ("accounts", "dashboards", "errors", "emails", "govuk", "includes")


def pages() -> list[Path]:
    out = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        relative = path.relative_to(TEMPLATES)
        if relative.parts[0] in EXEMPT_DIRS or path.name.startswith("_") or path.name == "base.html":
            continue
        if '{% extends "base.html" %}' in path.read_text(encoding="utf-8"):
            out.append(path)
    return out


def test_every_page_template_has_breadcrumbs_or_a_back_link():
    found = pages()
    assert len(found) > 50
    missing = [str(p.relative_to(TEMPLATES)) for p in found
               if not any(mark in p.read_text(encoding="utf-8") for mark in ("breadcrumbs", "govuk-back-link"))]
    assert missing == []
