"""One error for a refused action (pause_portal.refused.Refused): every app's refusal is that class
(a named subclass, so each `except` still means the action it meant), with the same `message`,
and `problems` where a release lists several reasons; no other *Refused error is defined."""

import ast
from pathlib import Path

import pytest

from audit.oversight.breach_reports import ReportRefused
from audit.oversight.breaches import BreachRefused
from audit.oversight.review_actions import ReviewRefused
from audit.oversight.rights import RightsRefused
from eligibility.batch_decisions import BatchRefused
from eligibility.extract.problems import Code, ExtractRefused, Level, Problem
from eligibility.restrictions import RestrictionRefused
from pause_portal.refused import Refused
from sharing.caseloads import CaseloadRefused
from sharing.delivery_release import DeliveryReleaseRefused
from sharing.dpia_register import DpiaRefused
from sharing.scoping_release import ScopingReleaseRefused

ROOT = Path(__file__).resolve().parents[2]
PLAIN = [RightsRefused, ReviewRefused, BreachRefused, ReportRefused, CaseloadRefused, RestrictionRefused,
         DeliveryReleaseRefused, ScopingReleaseRefused, DpiaRefused]


@pytest.mark.parametrize("refusal", PLAIN, ids=lambda c: c.__name__)
def test_each_refusal_is_the_one_refused(refusal):
    assert issubclass(refusal, Refused)
    assert refusal.__init__ is Refused.__init__  # nothing of its own: the one class under its app's name
    exc = refusal("Not allowed.")
    assert exc.message == str(exc) == "Not allowed."
    assert exc.problems == []
    with_problems = refusal("Cannot release.", ["one", "two"])
    assert with_problems.problems == ["one", "two"]


def test_an_extract_refusal_is_a_refused_built_from_its_problems():
    first = Problem(level=Level.ERROR, code=next(iter(Code)), message="Row 3 has no date.")
    exc = ExtractRefused([first])
    assert isinstance(exc, Refused)
    assert exc.problems == [first]
    assert exc.message == str(exc) == "Row 3 has no date."
    assert ExtractRefused([]).message == "The extract cannot be imported"


def test_a_batch_refusal_is_a_refused_that_also_names_each_womans_problem():
    exc = BatchRefused("Nothing was recorded.", ["Choose women with the same proposal"], by_woman={7: "restricted"})
    assert isinstance(exc, Refused) and exc.message == str(exc) == "Nothing was recorded."
    assert exc.problems == ["Choose women with the same proposal"] and exc.by_woman == {7: "restricted"}
    assert BatchRefused("Nothing was recorded.").by_woman == {}


def test_no_other_refused_error_is_defined():
    """Every class named *Refused in the apps derives from Refused (pseudonymisation's key-custody
    RotationRefused aside: the leaf imports nothing above it)."""
    found = {}
    for app in ("audit", "sharing", "eligibility", "pause_portal"):
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ClassDef) and node.name.endswith("Refused") and node.name != "Refused":
                    found[node.name] = [ast.unparse(b) for b in node.bases]
    assert set(found) == {c.__name__ for c in PLAIN} | {"ExtractRefused", "BatchRefused", "ClosingRefused",
                                                         "RecordRefused", "RetentionRefused",
                                                         "PartitionsRefused"}
    assert all(bases == ["Refused"] for bases in found.values()), found
