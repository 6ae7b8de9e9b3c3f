"""Warnings about a final scoping report's text, shown to the Trust lead before approving it (issue
16, point 7): the approved report is the one thing of scoping that is kept, so it must name no one
and give no count small enough to single someone out.

A heuristic and warning-only — approval is still allowed; a person reads the text and decides. It
looks for:
- a scoping token of the programme (the `token` of a released woman's or child's row), however it
  is spaced, hyphenated or cased;
- anything shaped like a token (`W-7KX2-9QPM-4TBD-Q`, see `pseudonymisation.tokens`), known or not;
- a count of fewer than 5 (the suppression threshold) about people: "3 women", "two mothers",
  "4 of the children", "n = 2". Not "3 months", "phase 2" or "2026".

`warnings_for` is pure: text and tokens in, warnings out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from pseudonymisation.errors import InvalidToken
from pseudonymisation.tokens import decode

THRESHOLD = 5
SMALL_NUMBERS = {"1": 1, "2": 2, "3": 3, "4": 4, "one": 1, "two": 2, "three": 3, "four": 4}
assert all(n < THRESHOLD for n in SMALL_NUMBERS.values())

PEOPLE = frozenset("""
    woman women mother mothers mum mums girl girls lady ladies
    child children baby babies infant infants toddler toddlers son sons daughter daughters boy boys
    sibling siblings twin twins parent parents father fathers dad dads carer carers
    family families household households person persons people individual individuals adult adults
    teenager teenagers youngster youngsters client clients participant participants case cases
    leaver leavers user users
""".split())
# Words after the number that mean it counts something other than people ("3 months with women").
NOT_PEOPLE = frozenset("""
    second seconds minute minutes hour hours day days week weeks month months year years decade decades
    quarter quarters time times percent per cent pence pound pounds mile miles
    with without for from by in at on to than and or but versus vs within over under after before since
    table tables page pages phase phases
""".split())
# Words before the number that make it a label, not a count ("phase 2 women").
LABELS = frozenset("""
    phase version table figure fig section page chapter step tier stage wave band quarter q level group
    cohort appendix option round part item question annex no number
""".split())
MAX_WORDS_BETWEEN = 2  # "4 looked-after children", "3 of the women"

_NUMBER = re.compile(r"(?<![\w.,/-])(" + "|".join(SMALL_NUMBERS) + r")(?=\s)", re.IGNORECASE)
_WORD = re.compile(r"\s+([A-Za-z][A-Za-z'\u2019-]*)")
_PREVIOUS_WORD = re.compile(r"([A-Za-z]+)\.?\s*$")
_N_EQUALS = re.compile(r"(?<![\w])n\s*=\s*([1-4])(?![\d.])", re.IGNORECASE)
# A token: W or C, then 12 characters and a check character, in groups of four, hyphens or spaces
# between the groups optional (as `pseudonymisation.tokens.decode` forgives them).
_TOKEN_SHAPE = re.compile(
    r"(?<![0-9A-Za-z])[WC][-\s]?[0-9A-Za-z]{4}[-\s]?[0-9A-Za-z]{4}[-\s]?[0-9A-Za-z]{4}[-\s]?[0-9A-Za-z*~$=]"
    r"(?![0-9A-Za-z])",
    re.IGNORECASE,
)
_CROCKFORD_READS = str.maketrans({"O": "0", "I": "1", "L": "1"})


@dataclass(frozen=True)
class ReportWarning:
    kind: str  # "known_token", "token_shape" or "small_count"
    found: str  # the words of the text that raised it

    @property
    def message(self) -> str:
        if self.kind == "known_token":
            return (f"\u201c{self.found}\u201d is the scoping token of a woman or child released to Pause. The kept "
                    "report must not name anyone, by token or otherwise")
        if self.kind == "token_shape":
            return (f"\u201c{self.found}\u201d looks like a token. Check that the report names no one, by token "
                    "or otherwise")
        return (f"\u201c{self.found}\u201d looks like a count of fewer than {THRESHOLD} people. A count that small "
                f"can single someone out: write \u201cfewer than {THRESHOLD}\u201d or leave it out")


def _compact(text: str) -> str:
    return re.sub(r"[\s\-\u2010-\u2015]", "", text).upper().translate(_CROCKFORD_READS)


def _token_warnings(text: str, tokens: Iterable[str]) -> list[ReportWarning]:
    known = {_compact(t): t for t in tokens if t}
    warnings, seen = [], set()
    for match in _TOKEN_SHAPE.finditer(text):
        found = match.group(0)
        compact = _compact(found)
        if compact in known:
            warnings.append(ReportWarning("known_token", found))
            seen.add(compact)
        elif found.count("-") >= 2 or _decodes(found):
            warnings.append(ReportWarning("token_shape", found))
    compact_text = _compact(text)
    for compact, token in known.items():  # spelt some other way: split, spaced, run into a word
        if compact not in seen and compact in compact_text:
            warnings.append(ReportWarning("known_token", token))
    return warnings


def _decodes(candidate: str) -> bool:
    """A run of letters and digits with no hyphens is a token only if its check character holds
    and it has a digit ("Communications" has the shape, not the check)."""
    try:
        decode(candidate)
    except InvalidToken:
        return False
    return any(c.isdigit() for c in candidate)


def _count_warnings(text: str) -> list[ReportWarning]:
    warnings = []
    for match in _NUMBER.finditer(text):
        before = _PREVIOUS_WORD.search(text[max(0, match.start() - 30):match.start()])
        if before and before.group(1).lower() in LABELS:
            continue
        position, words = match.end(), []
        for _ in range(MAX_WORDS_BETWEEN + 1):
            word = _WORD.match(text, position)
            if word is None:
                break  # punctuation or the end: the count is of nothing named
            lowered = word.group(1).lower().rstrip("'\u2019")
            words.append(word.group(1))
            if lowered in NOT_PEOPLE:
                break
            if lowered in PEOPLE or lowered.removesuffix("'s") in PEOPLE:
                warnings.append(ReportWarning("small_count", f"{match.group(1)} {' '.join(words)}"))
                break
            position = word.end()
    warnings += [ReportWarning("small_count", m.group(0)) for m in _N_EQUALS.finditer(text)]
    return warnings


def warnings_for(text: str, tokens: Iterable[str] = ()) -> list[ReportWarning]:
    """Everything in `text` that may identify someone: known tokens of the programme (`tokens`),
    token-shaped strings, and counts of fewer than 5 people. Empty when nothing was found."""
    return _token_warnings(text, tokens) + _count_warnings(text)
