"""The demo's governance and delivery state, made through the real actions (demo mode only):
a confirmed data-sharing agreement for each programme, and for the delivery programme decided
women released to Pause with invented addresses, caseloads for both practitioners, a few contact
attempts and one open safeguarding concern. Every value is synthetic.
"""

from __future__ import annotations

from datetime import date, timedelta

from eligibility.decisions import decide
from eligibility.evaluations import standing
from eligibility.models import EvaluationRun, Proposal, Woman
from pause_portal.tenancy.models import MembershipStatus, Person, Phase, Programme
from pause_portal.tenancy.roles import Role
from sharing import caseloads
from sharing.agreements import RETENTION_STORES, confirm_agreement, propose_agreement
from sharing.concerns import raise_concern
from sharing.contact import record_contact
from sharing.data_items import ITEMS
from sharing.delivery_release import ToRelease, release_for_delivery
from sharing.demo_dpia import seed_dpia
from sharing.models_delivery import (
    ConcernKind,
    ContactMethod,
    Participation,
    ReleasedWoman,
)
from sharing.privacy_notices import confirm_notice, publish_notice

RETENTION = {
    "scoping_data": "Until the end of scoping",
    "final_report": "6 years",
    "delivery_records": "2 years",
    "trust_records": "6 years",
    "audit_trail": "6 years",
    "do_not_approach": "2 years",
    "untouched_women": "1 year",
    "not_eligible_women": "1 year",
}
STREETS = ["Larkspur Row", "Quillfeather Lane", "Ottermead Close", "Brindlecombe Way", "Fennick Terrace",
           "Marrowgate Street", "Sallowby Road", "Tinsley Drift"]


# Each controller's bases as the demo's agreement records them (`sharing.lawful_bases`): the Trust's
# public task under the Children Act 2004 s.11 with Sch. 1 para 18; Pause's legitimate interests.
DEMO_BASES = {
    "trust": {"article_6": "art6_1_e", "article_9": "art9_2_g", "power": "ca2004_s11"},
    "pause": {"article_6": "art6_1_f", "article_9": "art9_2_g", "power": ""},
}


def agreement_values(programme: Programme, *, today: date) -> dict:
    return {
        "parties": f"{programme.trust.name} (controller); {programme.pause_practice.name} (controller)",
        "purposes": "To judge the need for a Pause practice, then to offer Pause to the women the Trust releases",
        "lawful_bases": DEMO_BASES,
        "data_items": {
            "scoping": list(ITEMS[Phase.SCOPING]),
            "delivery": list(ITEMS[Phase.DELIVERY]),
        },
        "retention": {store: RETENTION.get(store, "6 years") for store in RETENTION_STORES},
        "uk_only_processing": True,
        "policy_document_reference": "APD-DEMO-01",
        "dpia_reference": "DPIA-DEMO-7",
        "dpia_signed_off_by": "Demo Signatory, Head of Information Governance",
        "dpia_signed_off_on": today - timedelta(days=30),
        "scoping_extension_days": 0,
        "decide_changes_within_days": 14,
        # Pause's DPO, told of suspected breaches on Pause's side and of their 72 hours (ADR 49).
        "pause_dpo_email": "pause.dpo@demo.invalid",
    }


DEMO_TRUST_NOTICE = ("Demo privacy notice of the Trust (synthetic). The Trust shares information about women "
                     "whose children have been removed with Pause, a charity, so that Pause can offer them its "
                     "programme. Scoping lasts at most 3 months.")
DEMO_PAUSE_NOTICE = ("Demo privacy notice of Pause (synthetic, UK GDPR Art. 14). Pause received your details from "
                     "the Trust and uses them only to offer you its programme.")


def seed_agreement(programme: Programme, *, lead: Person, caldicott: Person, today: date) -> None:
    """The confirmed agreement, the DPIA's review and risks (`sharing.demo_dpia`: releases need a
    review in date), and the privacy notices in force: the Trust's (its lead publishes, the
    Caldicott Guardian confirms) and Pause's (the programme's Pause lead, if it has one yet)."""
    proposed = propose_agreement(programme=programme, by=lead, values=agreement_values(programme, today=today))
    confirm_agreement(agreement=proposed, by=caldicott,
                      justification="Demonstration: the retention periods match the Trust's policy.")
    seed_dpia(programme, lead=lead, today=today)
    confirm_notice(notice=publish_notice(programme=programme, by=lead, text=DEMO_TRUST_NOTICE), by=caldicott, justification="Demo: the notice matches the agreement.")
    pause_lead = Person.objects.filter(memberships__programme=programme, memberships__role=Role.PAUSE_LEAD,
                                       memberships__status=MembershipStatus.ACTIVE).order_by("pk").first()
    if pause_lead is not None:
        confirm_notice(notice=publish_notice(programme=programme, by=pause_lead, text=DEMO_PAUSE_NOTICE),
                       by=caldicott, justification="Demo: the notice matches the agreement.")


def seed_delivery(programme: Programme, *, caseworker: Person, lead: Person, practitioners: list[Person],
                  pause_lead: Person, today: date, count: int = 8) -> list[ReleasedWoman]:
    """Decide `count` of the women the rules propose eligible, release them, assign them and record
    some casework. Returns the released women."""
    run = EvaluationRun.objects.filter(programme=programme).order_by("-pk").first()
    proposed = (standing(run).filter(proposal=Proposal.ELIGIBLE).order_by("woman_id")
                .values_list("woman_id", flat=True)[:count])
    women = list(Woman.objects.filter(pk__in=list(proposed)).order_by("pk"))
    for woman in women:
        decide(woman=woman, by=caseworker, outcome="eligible", reason="Demo: the evidence meets the criteria")
    chosen = [ToRelease(w, f"{3 + 7 * i} {STREETS[i % len(STREETS)]}, Westvale") for i, w in enumerate(women)]
    release = release_for_delivery(programme, chosen, by=lead, trust_contact=lead)
    released = list(ReleasedWoman.objects.filter(release=release).order_by("pk"))
    for i, r in enumerate(released[:7]):
        caseloads.assign(r, practitioners[0] if i < 5 else practitioners[1], by=pause_lead)
    if len(released) >= 3:
        record_contact(released[0], by=practitioners[0], contacted_on=today,
                       method=ContactMethod.PHONE, outcome=Participation.AGREED, privacy_information_given=True,
                       note="Demo: agreed to meet next week")
        record_contact(released[1], by=practitioners[0], contacted_on=today,
                       method=ContactMethod.LETTER, outcome=Participation.NOT_REACHED)
        raise_concern(released[0], by=practitioners[0], kind=ConcernKind.SAFEGUARDING,
                      summary="Demo: a synthetic concern, to show the Trust lead's alert")
    return released
