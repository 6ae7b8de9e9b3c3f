"""Reading and validating case extracts: pure Python, no database.

Two formats (``docs/extract-formats.md``): the Standard Safeguarding Dataset table set
(several CSV files, or one ZIP file of them) and the flat template (one CSV or XLSX file). The
entry point is ``read_extract``; the database side writes what ``ExtractReading.iter_records``
yields. Modules, from the outside in: ``bundle`` (the upload: format and refusals before
parsing, with ``archives`` for ZIP and XLSX containers), ``sources`` and ``decoding`` (rows of a
CSV or XLSX file), ``cells`` and ``values`` (cleaning and checking cells), ``ssd`` and ``flat``
(the two formats' readers), ``validate`` (checks across rows and files, and the entry points),
``codes`` (code lists and default positions), ``problems`` and ``records`` (what comes out).
"""

from eligibility.extract.files import Bundle, ExtractFormat, Limits, Table
from eligibility.extract.problems import Code, ExtractRefused, Level, Problem
from eligibility.extract.records import (
    AddressRow,
    EpisodeRow,
    LegalStatusRow,
    MotherRow,
    PersonRow,
    Record,
)
from eligibility.extract.validate import ExtractReading, ExtractScan, read_extract, scan_extract

__all__ = [
    "AddressRow",
    "Bundle",
    "Code",
    "EpisodeRow",
    "ExtractFormat",
    "ExtractReading",
    "ExtractRefused",
    "ExtractScan",
    "LegalStatusRow",
    "Level",
    "Limits",
    "MotherRow",
    "PersonRow",
    "Problem",
    "Record",
    "Table",
    "read_extract",
    "scan_extract",
]
