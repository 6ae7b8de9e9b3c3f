"""An access pack as the files she is given: a zip of one HTML document and a CSV file per section.

The HTML is rendered by Django's template engine with autoescaping (a name such as
`<script>alert(1)</script>` arrives as text), and carries a restrictive Content-Security-Policy
in a meta element: nothing may load or run, and the one style block is allowed by its hash. CSV
cells cannot start a spreadsheet formula (`audit.oversight.csv_safe`). The zip holds only what the pack holds.
"""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile

from django.template.loader import render_to_string

from audit.oversight.access_pack_contents import Pack
from audit.oversight.csv_safe import as_csv

# No character here is changed by HTML escaping, so the hash below is of exactly what is served.
PACK_CSS = (
    "body{font-family:arial,sans-serif;margin:2em;color:#0b0c0c;line-height:1.4}"
    "table{border-collapse:collapse;margin-bottom:2em;width:100%}"
    "th,td{border:1px solid #b1b4b6;padding:4px 8px;text-align:left;vertical-align:top}"
    "caption{font-weight:bold;text-align:left;font-size:1.2em;padding:8px 0}"
)


def csp() -> str:
    digest = base64.b64encode(hashlib.sha256(PACK_CSS.encode()).digest()).decode()
    return (f"default-src 'none'; style-src 'sha256-{digest}'; img-src 'none'; script-src 'none'; "
            "base-uri 'none'; form-action 'none'")


def pack_html(pack: Pack) -> str:
    return render_to_string("rights/pack_document.html", {"pack": pack, "css": PACK_CSS, "csp": csp()})


def pack_zip(pack: Pack) -> tuple[str, bytes, str]:
    """(file name, zip bytes, sha256 of the zip)."""
    stem = f"access-pack-{pack.request.reference}"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{stem}/{stem}.html", pack_html(pack))
        for section in pack.sections:
            archive.writestr(f"{stem}/{section.key}.csv", "\ufeff" + as_csv(section.columns, section.rows))
    content = buffer.getvalue()
    return f"{stem}.zip", content, hashlib.sha256(content).hexdigest()
