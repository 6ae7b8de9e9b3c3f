"""The formula-safe CSV writer lives in the kernel (`pause_portal.csv_safe`) so that eligibility's
queue export can use it; the oversight's old name for it still works and is the same code."""

from audit.oversight import csv_safe as old
from pause_portal import csv_safe


def test_the_old_import_is_the_kernels_writer():
    assert old.as_csv is csv_safe.as_csv and old.safe_cell is csv_safe.safe_cell


def test_a_cell_that_could_start_a_formula_is_quoted_and_the_header_too():
    assert csv_safe.as_csv(["=h"], [["-x", "+y", "@z", "\tt", "ok", None]]).splitlines() == [
        "'=h", "'-x,'+y,'@z,'\tt,ok,"]
