"""Re-check every live scoping snapshot under the current disclosure check (issue 16, point 6).

A snapshot made under an older check may serve rows that the current check finds unsafe: before
issue 16 the outcome types were served beside the token outside the k-check, so a woman could be
the only one with her combination. `recheck_live_snapshots` measures, for each programme with a
snapshot, the class sizes over EVERYTHING its served rows show now; then it runs the current check
over the snapshot (which withholds or generalises whatever now fails, recorded as a re-check in
the release's report); and for each release that had served a row found unsafe it opens a
`ScopingIncident` for the DPO: which release, how many rows, since when, and who viewed them,
read from the audit trail. Idempotent: a second run finds nothing unsafe and opens nothing.

Run by `manage.py recheck_scoping_snapshots` and by data migration sharing 0007, so that a
deployment does it.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from django.db import transaction
from django.utils import timezone

from audit.core.log import record_event
from audit.core.models import AuditSubject, Event
from pause_portal.tenancy.models import Programme
from sharing.models_scoping import ScopingRelease, ScopingWomanRow
from sharing.models_scoping_checks import ScopingIncident
from sharing.scoping_release import K, apply_check, served_columns

FOUND_BY = "re-check over every served column (issue 16)"
REASON = "re-checked over every served column"


def _served_classes(rows: list[ScopingWomanRow], columns: tuple[str, ...]) -> Counter:
    return Counter(tuple(getattr(r, c) for c in columns) for r in rows)


def _viewers(row_ids: list[int]) -> tuple[list[dict], object]:
    """Who was shown these rows, from the audit trail: per person, how many entries, first and last."""
    refs = [f"{ScopingWomanRow._meta.label_lower}:{pk}" for pk in row_ids]
    seen: dict[int | None, dict] = {}
    for i in range(0, len(refs), 500):
        for actor, role, at in (AuditSubject.objects.filter(subject__in=refs[i:i + 500], entry__event=Event.DISCLOSURE)
                                .values_list("entry__actor_id", "entry__role", "entry__timestamp")
                                .order_by("entry__timestamp").distinct()):
            v = seen.setdefault(actor, {"person": actor, "role": role, "views": 0, "first": at, "last": at})
            v["views"] += 1
            v["first"], v["last"] = min(v["first"], at), max(v["last"], at)
    first = min((v["first"] for v in seen.values()), default=None)
    out = [{**v, "first": v["first"].isoformat(), "last": v["last"].isoformat()}
           for v in sorted(seen.values(), key=lambda v: v["first"])]
    return out, first


def recheck_programme(programme: Programme, *, why: str = REASON, served_before: tuple[str, ...] | None = None,
                      by=None) -> dict | None:
    """Re-check one programme's snapshot; returns what it found and did, or None without one.
    `served_before`: the columns Pause was served until now (every column by default), over which
    the served rows are measured for incidents."""
    with transaction.atomic():
        programme = Programme.objects.select_for_update().get(pk=programme.pk)
        rows = list(ScopingWomanRow.objects.filter(programme=programme).order_by("pk"))
        if not rows:
            return None
        served = [r for r in rows if not r.withheld]
        measured = served_columns() if served_before is None else served_before
        sizes = _served_classes(served, measured)
        columns = served_columns()
        unsafe = [r for r in served if sizes[tuple(getattr(r, c) for c in measured)] < K]
        before = {r.pk: (r.withheld, *(getattr(r, c) for c in columns)) for r in rows}
        report = apply_check(programme, refuse_if_unsolved=False)
        after = {r.pk: (r.withheld, *(getattr(r, c) for c in columns))
                 for r in ScopingWomanRow.objects.filter(programme=programme)}
        changed = before != after
        latest = ScopingRelease.objects.filter(programme=programme).order_by("-pk").first()
        if changed or unsafe:
            report.update({"at": timezone.now().isoformat(), "why": why,
                           "unsafe_before": len(unsafe),
                           "smallest_class_before": min(sizes.values()) if sizes else None})
            latest.report = {**latest.report, "rechecks": [*(latest.report.get("rechecks") or []), report]}
            latest.save(update_fields=["report"])
            record_event(Event.CHANGE, actor=by, target=latest, programme=programme, action=1,
                         reason=f"scoping snapshot {why}: {len(unsafe)} served row(s) found unsafe; now "
                                f"{report['served']} served, {report['withheld']} withheld (k={K})")
        incidents = []
        by_release: dict[int, list[ScopingWomanRow]] = defaultdict(list)
        for r in unsafe:
            by_release[r.release_id].append(r)
        releases = {r.pk: r for r in ScopingRelease.objects.filter(pk__in=list(by_release))}
        for release_id, found in sorted(by_release.items()):
            viewers, first = _viewers([r.pk for r in found])
            incident, created = ScopingIncident.objects.get_or_create(
                programme=programme, release_id_ref=release_id, found_by=FOUND_BY,
                defaults={"released_at": releases[release_id].released_at, "rows_unsafe": len(found),
                          "rows_served": len(served), "smallest_class": min(sizes.values()), "k": K,
                          "viewers": viewers, "first_viewed_at": first})
            if created:
                record_event(Event.CHANGE, target=incident, programme=programme, action=0,
                             reason=f"scoping incident #{incident.pk} opened: release #{release_id}, "
                                    f"{len(found)} served row(s) in combinations shared by fewer than {K} women, "
                                    f"viewed by {len(viewers)} person(s)")
                incidents.append(incident)
        return {"programme": programme.pk, "rows": len(rows), "served_before": len(served),
                "unsafe_before": len(unsafe), "served_after": report["served"], "withheld_after": report["withheld"],
                "levels": report.get("level_names"), "incidents": [i.pk for i in incidents], "changed": changed}


def recheck_live_snapshots() -> list[dict]:
    """Every programme with a scoping snapshot, re-checked (see the module's docstring)."""
    ids = ScopingWomanRow.objects.values_list("programme_id", flat=True).distinct()
    found = []
    for programme in Programme.objects.filter(pk__in=list(ids)).order_by("pk"):
        result = recheck_programme(programme)
        if result is not None:
            found.append(result)
    return found


ITEMS_CHANGED = "re-checked over the scoping data items of agreement version {version}"


def recheck_for_items(programme: Programme, *, version: int, served_before: tuple[str, ...], by=None) -> dict | None:
    """A newly confirmed agreement version changed the scoping items (ADR 28): re-run the check
    over the live snapshot with the new items' columns, in the confirmation's transaction, so that
    nothing newly agreed is served before the check has run with it. The disclosure policy serves a
    column only if the latest check covered it, so a re-check that has not happened serves nothing
    new either."""
    return recheck_programme(programme, why=ITEMS_CHANGED.format(version=version), served_before=served_before,
                             by=by)
