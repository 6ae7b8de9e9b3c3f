"""Moved to the kernel (`pause_portal.csv_safe`), so that eligibility's queue export can use it
too; this name stays for the oversight's callers."""

from pause_portal.csv_safe import DANGEROUS_FIRST, as_csv, safe_cell

__all__ = ["DANGEROUS_FIRST", "as_csv", "safe_cell"]
