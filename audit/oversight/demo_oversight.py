"""The demo's rights request and breach (issue 24, point 5), made through the real actions so that
the DPO's pages have something to show: an access request from a released woman, her identity
checked by her Trust worker, and a breach found this morning. Demo mode only; all text invented."""

from __future__ import annotations

from datetime import date, timedelta

from django.utils import timezone

from audit.core.models_rights import Breach, BreachRisk, RightsRequest
from audit.oversight.breaches import record_breach
from audit.oversight.rights import open_request
from eligibility.models import Woman
from pause_portal.tenancy.models import Person, Programme


def seed_rights_and_breach(programme: Programme, *, dpo: Person, checked_by: Person, woman: Woman,
                           today: date) -> tuple[RightsRequest, Breach]:
    request = open_request(programme=programme, kind="access", woman=woman, received_on=today - timedelta(days=3),
                           received_via="letter", identity_method="trust_known", identity_document="none",
                           identity_checked_by=checked_by, by=dpo,
                           identity_check="Demo: confirmed by her Trust worker against the Trust's record",
                           details="Demo: she asks for a copy of everything the portal holds about her")
    breach = record_breach(programme=programme, by=dpo, found_at=timezone.now() - timedelta(hours=5),
                           what_happened="Demo: a letter about the programme was posted to an old address",
                           people_affected="Demo: one woman", risk=BreachRisk.RISK,
                           actions_taken="Demo: the letter was recovered unopened")
    return request, breach
