"""The demo's scoping release (issue 24, point 5): in the demo's scoping programme, the caseworker
decides every woman the rules propose eligible, and the Trust lead releases them to Pause for
scoping, through the real actions, so that the Pause lead's scoping pages show the k-checked
tables. Demo mode only; every record synthetic."""

from __future__ import annotations

from datetime import date

from eligibility.decisions import decide
from eligibility.evaluations import standing
from eligibility.models import EvaluationRun, Proposal, Woman
from pause_portal.tenancy.models import Person, Programme
from sharing.models_scoping import ScopingRelease
from sharing.scoping_release import release_for_scoping


def seed_scoping_release(programme: Programme, *, caseworker: Person, lead: Person, today: date) -> ScopingRelease:
    run = EvaluationRun.objects.filter(programme=programme).order_by("-pk").first()
    proposed = standing(run).filter(proposal=Proposal.ELIGIBLE).values_list("woman_id", flat=True)
    women = list(Woman.objects.filter(pk__in=list(proposed)).order_by("pk"))
    for woman in women:
        decide(woman=woman, by=caseworker, outcome="eligible", reason="Demo: the evidence meets the criteria")
    return release_for_scoping(programme, women, by=lead)
