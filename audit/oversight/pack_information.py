"""The information Article 15 gives her besides the copy itself (issue 23, point 5), as the first
section of her access pack, in plain words: from the data-sharing agreement in force (purposes,
the kinds of data each phase shares, who receives it, how long each store keeps it, whether it is
processed in the UK only), the privacy notices in force, and the eligibility rules in force (what
they consider; that a person decides). The headings are `HEADINGS`, in Art. 15's order.
"""

from __future__ import annotations

from django.utils import timezone

from audit.oversight.access_pack_contents import Section
from eligibility.models import RuleSet, Woman
from eligibility.rules import SIGNAL_LABELS
from pause_portal import presenting
from pause_portal.tenancy.models import Programme
from sharing.agreements import shown
from sharing.models_notices import Controller
from sharing.privacy_notices import notice_in_force
from sharing.scoping_term import current_agreement

HEADINGS = {
    "purposes": "Why your information is used (the purposes)",
    "categories": "What kinds of information are held (the categories)",
    "recipients": "Who it is shared with (the recipients)",
    "retention": "How long it is kept",
    "rights": "Your rights",
    "complain": "Complaining to the Information Commissioner's Office",
    "source": "Where the information came from (the source)",
    "profiling": "Automated decisions and profiling",
    "where": "Where it is stored and processed",
    "notices": "The privacy notices that explain this",
}

RIGHTS = ("You can ask for a copy of your information (this pack answers that request); have it corrected if it "
          "is wrong or incomplete; have its use restricted in some circumstances; object to its use because of "
          "your particular situation (there may be compelling reasons to continue); have it erased where the law "
          "allows; and be told if it is lost and your rights may be at risk as a result. None of this costs "
          "anything. To use any of them, contact the Trust's data protection officer.")
COMPLAIN = ("If you are unhappy with how your information has been used, please tell the Trust's data protection "
            "officer first. You also have the right to complain to the Information Commissioner's Office (the "
            "ICO), the UK's independent regulator for data protection: by post to Wycliffe House, Water Lane, "
            "Wilmslow, Cheshire SK9 5AF, or by telephone on 0303 123 1113.")
NOT_RECORDED = "Not recorded in the agreement: ask the Trust's data protection officer."


def _profiling(programme: Programme) -> str:
    rules = RuleSet.objects.filter(programme=programme).order_by("-version").first()
    if rules is None:
        considers = "the children removed from your care, and signs that another removal may be likely"
    else:
        signals = [SIGNAL_LABELS[s].lower() for s in (rules.at_risk_signals or []) if s in SIGNAL_LABELS]
        considers = (f"how many of your children were removed from your care (by a care order, a placement "
                     f"order or adoption) in the last {rules.look_back_years} years — {rules.eligible_threshold} "
                     f"or more makes you eligible — and, with one child removed, "
                     f"{' or '.join(signals) if signals else 'signs that another removal may be likely'}; and that "
                     f"you are at least {rules.minimum_age}")
    return (f"The portal's eligibility rules look at {considers}. From these they propose whether you may be "
            "eligible for Pause. They only propose: a named member of the Trust's staff looks at your records and "
            "decides. No decision about you is made by a computer alone.")


def information_section(programme: Programme, woman: Woman) -> Section:
    agreement = current_agreement(programme)
    notices = [n.label for n in (notice_in_force(programme, c) for c in Controller) if n is not None]
    received = woman.first_extract.uploaded_at if woman.first_extract_id else None
    answers = {
        "purposes": agreement.purposes if agreement and agreement.purposes else NOT_RECORDED,
        "categories": ("Your details, your children and the decisions about you from the Trust's children's social "
                       "care records, as the sections below show. Shared with Pause — "
                       + ("; ".join(shown("data_items", agreement.data_items)) if agreement else NOT_RECORDED)),
        "recipients": (f"{agreement.parties}. Pause sees only what the agreement allows in each phase; it may "
                       "tell the Trust about a safeguarding concern." if agreement and agreement.parties
                       else NOT_RECORDED),
        "retention": "; ".join(shown("retention", agreement.retention)) if agreement else NOT_RECORDED,
        "rights": RIGHTS,
        "complain": COMPLAIN,
        "source": (f"The Trust's children's social care records, sent to this portal by {programme.trust.name}"
                   + (f" (first on {presenting.day(timezone.localtime(received).date())})" if received else "") + "."),
        "profiling": _profiling(programme),
        "where": ("Only in the UK: your information is stored and processed in the UK and is not sent abroad."
                  if agreement and agreement.uk_only_processing else NOT_RECORDED),
        "notices": "; ".join(notices) if notices else "No privacy notice is recorded.",
    }
    return Section("about_this_information", "About this information", ["Question", "Answer"],
                   [[HEADINGS[k], answers[k]] for k in HEADINGS],
                   note="What the law (UK GDPR Article 15) says you must be told, from the data-sharing agreement "
                        "and the privacy notices in force.")
