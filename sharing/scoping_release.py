"""The scoping release: an immutable, generalised, k-checked snapshot (issue 6, point 3; ADR 13).

`release_for_scoping` makes each released woman's rows once — a scoping token, her age band on the
release date, broad ethnic group, number of children removed, removal years in 5-year bands and
the outcome types; her children as scoping tokens with a removal-year band and an outcome — and
then runs the k-anonymity check over the WHOLE snapshot of the programme (quasi-identifiers: age
band, ethnic group, children removed, removal years). The check chooses the least generalisation
that gives every served combination k >= 5, withholding rows it cannot place (within
`pseudonymisation.kanonymity`'s default cap); with no solution nothing new is released.

`remove_from_scoping` deletes a woman's rows (and her children's) and re-runs the check over what
remains. It is called when a decision is withdrawn (`eligibility.decisions.decide`), when a
restriction is opened (`eligibility.restrictions.open_restriction`, through the kernel's
`woman_no_longer_releasable` hook, whose handler is `no_longer_releasable` below).

Fine values. `*_fine` columns keep the finest minimised value, so the check can run again; the
served columns hold the generalised labels. `age_band_fine` is her 5-year band at release (a
quasi-identifier); `age_at_first_removal_fine`, her band at her first removal, only ever feeds
suppressed aggregate tables.

Levels over time. Tokens are stable, so Pause can link one woman's row across versions of the
snapshot. Two versions generalised differently in different columns (one finer in age, the other
finer in ethnicity) could be combined into something finer than either. So each new check may only
choose levels comparable with those already served: all coarser-or-equal, or all finer-or-equal
(hierarchies nest, so a finer version says everything a coarser one did and nothing more than it).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from audit.core.log import record_event
from audit.core.models import Event
from eligibility.engine import CHILD, CODE, DATE, IN_WINDOW, LIST, LS, POSITION, REC
from eligibility.models import (
    Child,
    Decision,
    DecisionOutcome,
    ReReview,
    Restriction,
    Woman,
)
from eligibility.release import RELEASABLE_OUTCOMES, can_be_released, releasable
from pause_portal.refused import Refused
from pause_portal.tenancy.models import Person, Phase, Programme
from pause_portal.tenancy.roles import Perm, role_has
from pause_portal.tenancy.selectors import membership_in
from pseudonymisation.errors import KeyUnavailable
from pseudonymisation.fields import Protector
from pseudonymisation.generalise import NOT_KNOWN, age_band, band, ethnic_group
from pseudonymisation.kanonymity import (
    SUPPRESSED,
    KAnonymityResult,
    Level,
    hierarchy_loss,
    k_anonymise,
)
from pseudonymisation.keys import Keyring, KeyScope
from pseudonymisation.models import Purpose
from pseudonymisation.tokens import TokenKind, TokenMaker
from sharing.data_items import SCOPING_ITEMS, served_now
from sharing.models_scoping import ScopingChildRow, ScopingRelease, ScopingWomanRow
from sharing.release_checks import release_blockers
from sharing.scoping_term import current_agreement, scoping_is_open

K = settings.PORTAL_SCOPING_K  # 5 unless raised (ADR 18)
# What Pause is served of a scoping row, in the order pages show it (the disclosure policy serves
# exactly these). Every field but the token is a quasi-identifier of the k-check (`served_columns`
# reads this tuple), so a field added here is checked without anyone remembering to add it there
# (issue 16).
# The fields come from the data items' table (`sharing.data_items`, ADR 28): every field a scoping
# item may serve of a woman's row; which of them are served is the agreement's to say
# (`agreed_columns`).
SCOPING_WOMAN_SERVED = tuple(f for item in SCOPING_ITEMS for f in sorted(item.serves.get(ScopingWomanRow, ())))
# A child is never listed: its year band and outcome only feed the children's summary table.
SCOPING_CHILD_SERVED = tuple(f for item in SCOPING_ITEMS for f in sorted(item.serves.get(ScopingChildRow, ())))
SCOPING_KEY_PHASE = "scoping"
COLUMN_LABELS = {"age_band": "Age band", "ethnic_group": "Ethnic group", "children_removed": "Children removed",
                 "removal_years": "Removal years", "outcome_types": "Outcome types",
                 "age_at_first_removal": "Age at first removal"}


def served_columns() -> tuple[str, ...]:
    """Every attribute the disclosure policy serves beside a scoping token, in page order: each is
    a quasi-identifier of the check (derived, never a hand-kept list: issue 16, point 1)."""
    return tuple(f for f in SCOPING_WOMAN_SERVED if f != "token")


def agreed_columns(programme: Programme | int) -> tuple[str, ...]:
    """The columns the confirmed agreement's scoping items allow now, in page order: the check
    runs over these, and every other column is served as nothing (held at its suppressed level)."""
    allowed = served_now(programme, Phase.SCOPING)[ScopingWomanRow]
    return tuple(c for c in served_columns() if c in allowed)


def columns_served_now(programme: Programme | int) -> tuple[str, ...]:
    """The columns Pause's lead is served now, in page order: agreed and checked."""
    checked = checked_columns(programme)
    return tuple(c for c in agreed_columns(programme) if c in checked)


def checked_columns(programme: Programme | int) -> frozenset[str]:
    """The columns the snapshot's latest check ran over (nothing if it served nothing): a column
    is served only if the agreement allows it AND the check has run with it (ADR 28)."""
    checks = _checks(getattr(programme, "pk", programme))
    if not checks or not checks[-1].get("served"):
        return frozenset()
    last = checks[-1]
    # A report from before checks named their columns (issue 16) served every column as it stood.
    return frozenset(last["columns"] if "columns" in last else served_columns())


QUASI_IDENTIFIERS = served_columns()


class ScopingReleaseRefused(Refused):
    """A release (or a removal's re-check) that cannot go ahead; `problems` says why, one line each."""


def token_scope(programme_id: int) -> KeyScope:
    """The scoping token key: destroyed when scoping ends, so its tokens then resolve to nobody."""
    return KeyScope(programme_id, SCOPING_KEY_PHASE, Purpose.TOKEN)


# --- generalisation hierarchies (each level maps the FINE value) ------------------------------
def _age_10(fine: str) -> str:
    return fine if fine == NOT_KNOWN else band(int(fine.split("-")[0]), 10)


def _age_30(fine: str) -> str:
    return fine if fine == NOT_KNOWN else ("Under 30" if int(fine.split("-")[0]) < 30 else "30 and over")


def _ethnic_broad(fine: str) -> str:
    return fine if fine in ("White", NOT_KNOWN) else "Black, Asian, Mixed or Other"


def _removed_exact(fine: int) -> str:
    return str(fine)


def _removed_banded(fine: int) -> str:
    return str(fine) if fine <= 2 else "3-4" if fine <= 4 else "5 or more"


def _removed_two(fine: int) -> str:
    return "1" if fine <= 1 else "2 or more"


def _years_5(fine: str) -> str:
    return fine


def _years_10(fine: str) -> str:
    if not fine[:1].isdigit():
        return fine
    return ", ".join(sorted({band(int(b.split("-")[0]), 10) for b in fine.split(", ") if b}))


def _first_removal_10(fine: str) -> str:
    return fine if fine == NOT_KNOWN else band(int(fine.split("-")[0]), 10)


def _first_removal_25(fine: str) -> str:
    return fine if fine == NOT_KNOWN else ("Under 25" if int(fine.split("-")[0]) < 25 else "25 and over")


# A child's outcome in two broad groups: she left care for a permanent home, or an order kept her
# in care (or placed her for adoption). Used by the women's outcome types and the children's table.
OUTCOME_GROUP = {"Adopted": "Permanent home", "Special guardianship": "Permanent home",
                 "Child arrangements order": "Permanent home", "Placement order": "Care or placement order",
                 "Care order": "Care or placement order", "Other": "Care or placement order"}
NO_OUTCOME = "None"


def _types(fine: str) -> list[str]:
    return [t for t in (fine or "").split("; ") if t]


def _outcome_exact(fine: str) -> str:
    return fine or NO_OUTCOME


def _outcome_groups(fine: str) -> str:
    groups = sorted({OUTCOME_GROUP.get(t, "Care or placement order") for t in _types(fine)})
    return "; ".join(groups) or NO_OUTCOME


def _outcome_count(fine: str) -> str:
    n = len(_types(fine))
    return NO_OUTCOME if n == 0 else "1 type" if n == 1 else "2 or more types"


HIERARCHIES = {
    "age_band": [Level("5-year bands", lambda v: v), Level("10-year bands", _age_10),
                 Level("under 30 / 30 and over", _age_30), SUPPRESSED],
    "ethnic_group": [Level("broad ethnic groups", lambda v: v),
                     Level("White / other groups", _ethnic_broad), SUPPRESSED],
    "children_removed": [Level("exact number", _removed_exact), Level("1, 2, 3-4, 5 or more", _removed_banded),
                         Level("1 / 2 or more", _removed_two), SUPPRESSED],
    "removal_years": [Level("5-year bands", _years_5), Level("10-year bands", _years_10), SUPPRESSED],
    "outcome_types": [Level("outcome types", _outcome_exact), Level("permanent home / care or placement order",
                                                                    _outcome_groups),
                      Level("number of outcome types", _outcome_count), SUPPRESSED],
    "age_at_first_removal": [Level("10-year bands", _first_removal_10),
                             Level("under 25 / 25 and over", _first_removal_25), SUPPRESSED],
}
FINE_COLUMN = {"age_band": "age_band_fine", "ethnic_group": "ethnic_group_fine",
               "children_removed": "children_removed_fine", "removal_years": "removal_years_fine",
               "outcome_types": "outcome_types_fine", "age_at_first_removal": "age_at_first_removal_fine"}


class UncheckedColumn(RuntimeError):
    """A column is served beside a scoping token with no generalisation hierarchy: the release
    refuses to serve anything rather than serve an unchecked column."""


def check_hierarchies() -> dict[str, list]:
    """The hierarchy of every served column; raises UncheckedColumn for a served column without
    one (so a field added to the disclosure policy cannot be served unchecked)."""
    missing = [c for c in served_columns() if c not in HIERARCHIES or c not in FINE_COLUMN]
    if missing:
        raise UncheckedColumn(f"served beside a scoping token with no generalisation hierarchy: {', '.join(missing)}")
    return {c: HIERARCHIES[c] for c in served_columns()}


def served_child_year_band(fine: str, removal_years_level: int | None) -> str:
    """A child's removal-year band as served: at the level the mothers' removal years are served
    at, so that the children's table never tells more about removal years than the women's rows."""
    if removal_years_level is None:
        return SUPPRESSED
    level = HIERARCHIES["removal_years"][removal_years_level]
    return SUPPRESSED if level == SUPPRESSED else level.apply(fine)


# --- outcomes ----------------------------------------------------------------------------------
# A child's outcome: the most lasting of its counted events (an adoption outlasts the care
# order that preceded it). Broad types only; never a code.
OUTCOME_OF = {
    (REC, "E11"): "Adopted", (REC, "E12"): "Adopted",
    **{(REC, c): "Special guardianship" for c in ("E43", "E44", "E45", "E46", "E47", "E48")},
    (REC, "E41"): "Child arrangements order",
    (LS, "E1"): "Placement order", (LS, "D1"): "Placement order",
    (LS, "C2"): "Care order", (LS, "C1"): "Care order",
}
OUTCOME_RANK = ["Adopted", "Special guardianship", "Child arrangements order", "Placement order", "Care order",
                "Other"]


def _outcome(events: list) -> str:
    found = {OUTCOME_OF.get((e[LIST], e[CODE]), "Other") for e in events}
    return min(found, key=OUTCOME_RANK.index) if found else "Other"


# --- what a release refuses -------------------------------------------------------------------
def why_not_releasable(woman: Woman) -> str:
    """The reason `can_be_released` does not hold, in words for the Trust lead (no personal data)."""
    latest = Decision.objects.filter(woman=woman).order_by("-pk").first()
    if latest is None:
        return "nobody has decided about her yet"
    if latest.outcome not in RELEASABLE_OUTCOMES:
        return f"her latest decision is \u201c{DecisionOutcome(latest.outcome).label}\u201d"
    if ReReview.objects.filter(decision=latest).exists():
        return "her latest decision is waiting for a re-review"
    if Restriction.objects.filter(woman=woman, ended_at__isnull=True).exists():
        return "a restriction on her records is open"
    return "she cannot be released"


@dataclass
class _Made:
    woman: Woman
    fine: dict
    outcome_types: str
    token: str = ""
    children: list[tuple[str, str, str]] = field(default_factory=list)  # token, 5-year band, outcome


def _make_rows(programme: Programme, women: list[Woman], on: date) -> list[_Made]:
    """Tokens and finest minimised values, from each woman's latest decision's evidence (what a
    person decided on) and her date of birth and ethnicity."""
    protector = Protector.load(programme.pk, Woman.key_phase)
    tokens = TokenMaker(Keyring.load(token_scope(programme.pk)))
    decisions = {d.woman_id: d for d in Decision.objects.filter(woman__in=women).order_by("woman_id", "pk")}
    children = {c.pk: c for c in Child.objects.filter(mother__in=women)}
    made = []
    for woman in women:
        evidence = decisions[woman.pk].evidence
        removed = set(evidence.get("children_removed") or [])
        counted: dict[int, list] = {}
        for e in evidence.get("events") or []:
            if e[CHILD] in removed and e[POSITION] == "counted" and e[IN_WINDOW] and e[DATE]:
                counted.setdefault(e[CHILD], []).append(e)
        first_dates = {child: min(date.fromisoformat(e[DATE]) for e in events) for child, events in counted.items()}
        born_text = woman.reveal(protector, "date_of_birth")
        born = date.fromisoformat(born_text) if born_text else None
        first = min(first_dates.values(), default=None)
        age_now = age_band(born, on, width=5) if born and born <= on else NOT_KNOWN
        age_first = age_band(born, first, width=5) if born and first and born <= first else NOT_KNOWN
        year_bands = sorted({band(d.year, 5) for d in first_dates.values()})
        row = _Made(
            woman=woman,
            fine={"age_band_fine": age_now, "age_at_first_removal_fine": age_first, "ethnic_group_fine": ethnic_group(woman.ethnicity),
                  "children_removed_fine": len(removed), "removal_years_fine": ", ".join(year_bands) or "None"},
            outcome_types="; ".join(sorted({_outcome(ev) for ev in counted.values()}, key=OUTCOME_RANK.index)),
        )
        for child_pk in sorted(counted):
            child = children[child_pk]
            row.children.append((tokens.make(TokenKind.CHILD, child.reveal(protector, "trust_person_id")),
                                  band(first_dates[child_pk].year, 5), _outcome(counted[child_pk])))
        row.token = tokens.make(TokenKind.WOMAN, woman.reveal(protector, "trust_person_id"))
        made.append(row)
    return made


# --- the k-check over the whole snapshot --------------------------------------------------------
def _fine_rows(rows: list[ScopingWomanRow]) -> list[dict]:
    return [{c: getattr(r, FINE_COLUMN[c]) for c in served_columns()} for r in rows]


def _complete(levels: dict[str, int] | None) -> dict[str, int] | None:
    """Levels of a check made before a column was served: a column then served as it was made
    (outcome types) counts as level 0; one never served (age at first removal) as suppressed."""
    if levels is None:
        return None
    out = dict(levels)
    for c, h in check_hierarchies().items():
        if c not in out:
            out[c] = 0 if c == "outcome_types" else len(h) - 1
    return out


def _checks(programme_id: int) -> list[dict]:
    """Every check's report, oldest first (each release's, then the re-checks after it)."""
    out = []
    for release in ScopingRelease.objects.filter(programme_id=programme_id).order_by("pk"):
        out.append(release.report)
        out.extend(release.report.get("rechecks") or [])
    return out


def serve_child_year_bands(shown: list) -> None:
    """Set each scoping child row's year band (on the instance, never saved) to the level the
    women's removal years are served at now."""
    levels: dict[int, dict | None] = {}
    for r in shown:
        if isinstance(r, ScopingChildRow):
            if r.programme_id not in levels:
                levels[r.programme_id] = served_levels(r.programme_id)
            level = (levels[r.programme_id] or {}).get("removal_years")
            r.year_band = served_child_year_band(r.year_band, level)


def served_levels(programme: Programme | int) -> dict[str, int] | None:
    """The levels the snapshot is served at now (None: nothing is served)."""
    checks = _checks(getattr(programme, "pk", programme))
    return _complete(checks[-1].get("levels")) if checks and checks[-1].get("served") else None


def served_level_history(programme: Programme | int) -> list[dict[str, int]]:
    """The levels of every check that served anything, oldest first: everything Pause may hold."""
    return [_complete(r["levels"]) for r in _checks(getattr(programme, "pk", programme))
            if r.get("served") and r.get("levels")]


def _best(fine: list[dict], history: list[dict[str, int]],
          agreed: tuple[str, ...] | None = None) -> tuple[KAnonymityResult, dict[str, int]]:
    """The least generalisation whose levels are comparable with EVERY version already served:
    finer-or-equal than the finest of them in every column, or coarser-or-equal than the coarsest.
    (Comparable with the last version only is not enough: a version coarser than the last in one
    column and finer in another may be incomparable with an older one, and Pause holds both.)"""
    hierarchies = check_hierarchies()
    agreed = served_columns() if agreed is None else agreed
    # A column the agreement does not allow is held at its suppressed level (ADR 28).
    floor = {c: 0 if c in agreed else len(h) - 1 for c, h in hierarchies.items()}

    def run(lowest: dict[str, int], highest: dict[str, int] | None = None):
        cut = {c: hierarchies[c][lowest[c]:] for c in hierarchies}
        caps = {c: highest[c] - lowest[c] for c in hierarchies} if highest else None
        result = k_anonymise(fine, cut, k=K, max_levels=caps)
        return result, {c: lv + lowest[c] for c, lv in result.levels.items()}

    if not history:
        return run(floor)
    finest = {c: min(h[c] for h in history) for c in hierarchies}
    coarsest = {c: max(h[c] for h in history) for c in hierarchies}
    candidates = []
    if all(floor[c] <= finest[c] for c in hierarchies):
        candidates.append(run(floor, finest))
    candidates.append(run({c: max(floor[c], coarsest[c]) for c in hierarchies}))

    def rank(candidate):
        result, levels = candidate
        return (not result.found, hierarchy_loss(hierarchies, levels), len(result.withheld))

    return min(candidates, key=rank)


def level_name(column: str, level: int | None) -> str:
    if level is None:
        return "all withheld"
    chosen = HIERARCHIES[column][level]
    return chosen.name if isinstance(chosen, Level) else "suppressed"


def apply_check(programme: Programme, *, refuse_if_unsolved: bool) -> dict:
    """Run the k-check over every snapshot row of the programme and store the served values
    (with no solution, every row is withheld, or the release is refused). Returns the report
    (counts, level names and class sizes only)."""
    every = served_columns()
    columns = agreed_columns(programme)  # the agreement's scoping items (ADR 28)
    check_hierarchies()  # before any fine value is read: an unchecked served column refuses here
    rows = list(ScopingWomanRow.objects.filter(programme=programme).order_by("pk"))
    result, levels = _best(_fine_rows(rows), served_level_history(programme), columns) if rows else (None, None)
    solved = result is not None and result.found
    if not solved and refuse_if_unsolved:
        raise ScopingReleaseRefused(
            "Nothing was released: no generalisation gives every combination of "
            f"{', '.join(COLUMN_LABELS[c].lower() for c in columns)} at least {K} women within the "
            "withholding limit. " + (result.summary if result else ""))
    kept = {r.index: r.row for r in result.rows} if solved else {}
    for index, row in enumerate(rows):
        for c in every:
            setattr(row, c, kept[index][c] if index in kept and c in columns else "")
        row.withheld = index not in kept
    ScopingWomanRow.objects.bulk_update(rows, [*every, "withheld"], batch_size=500)
    if not solved:
        return {"k": K, "rows": len(rows), "served": 0, "withheld": len(rows), "levels": None,
                "level_names": None, "columns": list(columns),
                "summary": "No generalisation works: every row is withheld."}
    served_sizes = Counter(tuple(kept[i][c] for c in columns) for i in kept)
    return {"k": K, "rows": len(rows), "served": len(kept), "withheld": len(rows) - len(kept), "levels": levels,
            "level_names": {c: level_name(c, lv) for c, lv in levels.items()}, "columns": list(columns),
            "smallest_class": min(served_sizes.values()) if served_sizes else None,
            "classes": len(served_sizes),
            "withheld_why": (f"{len(rows) - len(kept)} row(s) would be in a combination shared by fewer than "
                             f"{K} women even at these levels" if len(rows) > len(kept) else ""),
            "withheld_limit": str(Fraction(result.max_withheld_fraction))}


# --- the actions -------------------------------------------------------------------------------
def release_for_scoping(programme: Programme, women, *, by: Person) -> ScopingRelease:
    """Release `women` to Pause in scoping: their rows made once, the whole snapshot k-checked.
    Refused (ScopingReleaseRefused, nothing written) unless `by` is a Trust lead of the programme,
    it is in scoping and open, nothing blocks a release, and every woman passes `can_be_released`."""
    membership = membership_in(by, programme.pk)
    if membership is None or not role_has(membership.role, Perm.RELEASE_TO_PAUSE):
        raise ScopingReleaseRefused("Only the programme's Trust leads release women to Pause.")
    programme = membership.programme
    if programme.phase != Phase.SCOPING or not scoping_is_open(programme):
        raise ScopingReleaseRefused("Scoping releases are made only while scoping is open (before its deadline).")
    blockers = release_blockers(programme)
    if blockers:
        raise ScopingReleaseRefused("Nothing was released: what a release needs is not on record.", blockers)
    women = list(women)
    if not women:
        raise ScopingReleaseRefused("Choose at least one woman to release.")
    already = set(ScopingWomanRow.objects.filter(programme=programme, woman__in=women).values_list("woman_id", flat=True))
    problems = []
    for position, woman in enumerate(women, start=1):
        if woman.programme_id != programme.pk:
            problems.append(f"Row {position} (woman #{woman.pk}): not a woman of this programme")
        elif woman.pk in already:
            problems.append(f"Row {position} (woman #{woman.pk}): already in the scoping release")
        elif not can_be_released(woman):
            problems.append(f"Row {position} (woman #{woman.pk}): {why_not_releasable(woman)}")
    if len({w.pk for w in women}) != len(women):
        problems.append("A woman is chosen twice")
    if problems:
        raise ScopingReleaseRefused("Nothing was released: some of the women chosen cannot be released.", problems)
    now = timezone.now()
    with transaction.atomic():
        list(Programme.objects.select_for_update().filter(pk=programme.pk))  # one release at a time
        try:
            made = _make_rows(programme, women, timezone.localdate(now))
        except KeyUnavailable as exc:
            raise ScopingReleaseRefused("Nothing was released: the scoping token key is not available "
                                        "(scoping has ended and its key was destroyed).") from exc
        release = ScopingRelease.objects.create(programme=programme, agreement=current_agreement(programme),
                                                released_by=by, released_at=now, women=len(women))
        for m in made:
            row = ScopingWomanRow.objects.create(
                programme=programme, release=release, woman=m.woman, token=m.token,
                outcome_types_fine=m.outcome_types, withheld=True, **m.fine)
            ScopingChildRow.objects.bulk_create(
                ScopingChildRow(programme=programme, mother_row=row, token=t, year_band=b, outcome=o)
                for t, b, o in m.children)
        report = apply_check(programme, refuse_if_unsolved=True)
        report["released_now"] = len(women)
        report["withheld_now"] = ScopingWomanRow.objects.filter(release=release, withheld=True).count()
        release.report = report
        release.save(update_fields=["report"])
        record_event(
            Event.CHANGE, actor=by, target=release, subjects=women, subject_model=Woman, programme=programme,
            role=membership.role, action=0,
            reason=f"scoping release #{release.pk}: {len(women)} women; snapshot {report['rows']} rows, "
                   f"{report['served']} served, {report['withheld']} withheld (k={K})",
        )
    return release


def remove_from_scoping(woman: Woman, why: str, *, by: Person | None = None) -> dict | None:
    """Delete the woman's snapshot rows (and her children's), then re-run the k-check over what
    remains of the snapshot (more may be withheld). `why` is a short reason with no personal data
    ("decision withdrawn", "restriction opened", "objection"). Returns the re-check's report, or
    None when she was not in the snapshot."""
    with transaction.atomic():
        rows = ScopingWomanRow.objects.filter(programme_id=woman.programme_id, woman=woman)
        row = rows.first()
        if row is None:
            return None
        programme = Programme.objects.select_for_update().get(pk=woman.programme_id)
        ScopingChildRow.objects.filter(mother_row=row).delete()
        rows.delete()
        report = apply_check(programme, refuse_if_unsolved=False)
        report.update({"at": timezone.now().isoformat(), "why": why})
        latest = ScopingRelease.objects.filter(programme=programme).order_by("-pk").first()
        latest.report = {**latest.report, "rechecks": [*(latest.report.get("rechecks") or []), report]}
        latest.save(update_fields=["report"])
        record_event(
            Event.CHANGE, actor=by, target=latest, subjects=[woman], subject_model=Woman, programme=programme,
            action=2,
            reason=f"removed from the scoping release ({why}); snapshot {report['rows']} rows, "
                   f"{report['served']} served, {report['withheld']} withheld (k={K})",
        )
    return report


def no_longer_releasable(*, woman: Woman, why: str, by: Person | None) -> dict | None:
    """The handler of the kernel's `woman_no_longer_releasable` hook (registered by SharingConfig):
    she leaves the scoping release at once. Delivery needs nothing: `sharing.delivery_access` leaves
    out a woman with an open restriction or a withdrawn decision by its own query."""
    return remove_from_scoping(woman, why, by=by)


def releasable_women(programme: Programme) -> QuerySet[Woman]:
    """Women the Trust lead may release now: `releasable`, and not already in the snapshot."""
    return releasable(Woman.objects.filter(programme=programme)).exclude(
        pk__in=ScopingWomanRow.objects.filter(programme=programme).values("woman_id")).order_by("pk")


def snapshot_counts(programme: Programme) -> Counter:
    return Counter(ScopingWomanRow.objects.filter(programme=programme).values_list("withheld", flat=True))
