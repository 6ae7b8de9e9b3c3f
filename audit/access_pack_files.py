"""An access pack as the files she is given: a zip of one HTML document and a CSV file per section.

The HTML is rendered by Django's template engine with autoescaping (a name such as
`<script>alert(1)</script>` arrives as text), and carries a restrictive Content-Security-Policy
in a meta element: nothing may load or run, and the one style block is allowed by its hash. CSV
cells cannot start a spreadsheet formula. The zip holds only what the pack holds.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import zipfile

from django.template.loader import render_to_string

from audit.access_pack import Pack

# No character here is changed by HTML escaping, so the hash below is of exactly what is served.
PACK_CSS = (
    "body{font-family:arial,sans-serif;margin:2em;color:#0b0c0c;line-height:1.4}"
    "table{border-collapse:collapse;margin-bottom:2em;width:100%}"
    "th,td{border:1px solid #b1b4b6;padding:4px 8px;text-align:left;vertical-align:top}"
    "caption{font-weight:bold;text-align:left;font-size:1.2em;padding:8px 0}"
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csp() -> str:
    digest = base64.b64encode(hashlib.sha256(PACK_CSS.encode()).digest()).decode()
    return (f"default-src 'none'; style-src 'sha256-{digest}'; img-src 'none'; script-src 'none'; "
            "base-uri 'none'; form-action 'none'")


def pack_html(pack: Pack) -> str:
    return render_to_string("rights/pack_document.html", {"pack": pack, "css": PACK_CSS, "csp": csp()})


def safe_cell(value) -> str:
    """No spreadsheet formula can start a cell (CSV injection): such a cell gets a leading quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def section_csv(columns: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([safe_cell(c) for c in columns])
    writer.writerows([safe_cell(c) for c in row] for row in rows)
    return out.getvalue()


def pack_zip(pack: Pack) -> tuple[str, bytes, str]:
    """(file name, zip bytes, sha256 of the zip)."""
    stem = f"access-pack-{pack.request.reference}"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{stem}/{stem}.html", pack_html(pack))
        for section in pack.sections:
            archive.writestr(f"{stem}/{section.key}.csv", "\ufeff" + section_csv(section.columns, section.rows))
    content = buffer.getvalue()
    return f"{stem}.zip", content, hashlib.sha256(content).hexdigest()
