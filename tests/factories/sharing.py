"""A programme's agreement, its scoping snapshot and the delivery records about released women.
All invented."""

from __future__ import annotations

from datetime import date, timedelta

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from pause_portal.tenancy.roles import Role
from sharing.data_items import ITEMS
from sharing.models_delivery import (
    ContactAttempt,
    ContactMethod,
    Participation,
    SafeguardingConcern,
)
from sharing.models_dpia import DpiaReview
from sharing.models_scoping import (
    Agreement,
    ChangeStatus,
    ScopingChildRow,
    ScopingRelease,
    ScopingWomanRow,
)
from sharing.scoping_term import current_agreement
from tests.factories.casedata import ProtectedFactory, WomanFactory
from tests.factories.tenancy import ProgrammeFactory, member

# Each controller's lawful bases, as an agreement records them (sharing.lawful_bases): the Trust's
# public task under the Children Act 2004 s.11, Pause's legitimate interests; both with Sch. 1 para 18.
BASES = {
    "trust": {"article_6": "art6_1_e", "article_9": "art9_2_g", "power": "ca2004_s11"},
    "pause": {"article_6": "art6_1_f", "article_9": "art9_2_g", "power": ""},
}


class AgreementFactory(DjangoModelFactory):
    """The programme's next version, proposed by a Trust lead and confirmed by its Caldicott
    Guardian (new members of the programme unless given), agreeing every data item of both phases
    (tests of the items themselves give fewer). The programme's DPIA is given a review in date too,
    by the proposer, unless it has one (`dpia_review=False`: none), since releases need one (ADR 48):
    due far off (`FAR_OFF`)."""

    class Meta:
        model = Agreement
        skip_postgeneration_save = True

    programme = factory.SubFactory(ProgrammeFactory)
    version = factory.LazyAttribute(lambda a: Agreement.objects.filter(programme=a.programme).count() + 1)
    parties = "The Trust (controller); Pause (controller)"
    purposes = "Scoping the need for a Pause practice"
    lawful_bases = factory.LazyFunction(lambda: dict(BASES))
    data_items = factory.LazyFunction(lambda: {str(phase): list(items) for phase, items in ITEMS.items()})
    retention = factory.LazyFunction(lambda: {"scoping": "3 months", "do_not_approach": "2 years"})
    uk_only_processing = True
    policy_document_reference = "APD-2026-01"
    dpia_reference = "DPIA-7"
    dpia_signed_off_by = "A Guardian, Caldicott Guardian"
    dpia_signed_off_on = date(2026, 1, 5)
    status = ChangeStatus.CONFIRMED
    proposed_by = factory.LazyAttribute(lambda a: member(a.programme, Role.TRUST_LEAD))
    decided_by = factory.LazyAttribute(lambda a: member(a.programme, Role.CALDICOTT_GUARDIAN))
    decided_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def dpia_review(agreement, create, extracted, **kwargs):
        if create and extracted is not False:
            dpia_review_in_date(agreement.programme, by=agreement.proposed_by)


# The factories' DPIA review is due far off: tests that travel in time (a world made in 2025, acted on
# now) are not stopped by it, and it sends no reminder into other tests' sweeps. The register's own
# tests record reviews through its actions, with real dates.
FAR_OFF = date(2099, 1, 1)


def dpia_review_in_date(programme, *, by, today: date | None = None) -> DpiaReview:
    """The programme's latest DPIA review, or a new one reviewed a month ago and due `FAR_OFF`
    (written straight to the table, past the action's one-year rule)."""
    today = today or timezone.localdate()
    existing = DpiaReview.objects.filter(programme=programme).order_by("-recorded_at", "-pk").first()
    return existing or DpiaReview.objects.create(programme=programme, reviewed_on=today - timedelta(days=30),
                                                 next_review_on=FAR_OFF, reviewed_by=by)


class ScopingReleaseFactory(DjangoModelFactory):
    """A scoping release under the programme's current agreement (a new one if it has none), by the
    Trust lead who proposed it."""

    class Meta:
        model = ScopingRelease

    programme = factory.SubFactory(ProgrammeFactory)
    agreement = factory.LazyAttribute(
        lambda r: current_agreement(r.programme) or AgreementFactory(programme=r.programme))
    released_by = factory.SelfAttribute("agreement.proposed_by")


class ScopingWomanRowFactory(DjangoModelFactory):
    """A woman's row of the scoping snapshot: two children removed in 2015-2019, in her thirties."""

    class Meta:
        model = ScopingWomanRow

    release = factory.SubFactory(ScopingReleaseFactory)
    programme = factory.SelfAttribute("release.programme")
    woman = factory.SubFactory(WomanFactory, programme=factory.SelfAttribute("..programme"))
    token = factory.Sequence(lambda n: f"W-TOKEN-{n}")
    age_band_fine, age_band = "30-34", "30-39"
    ethnic_group_fine = ethnic_group = "White"
    children_removed_fine, children_removed = 2, "2"
    removal_years_fine = removal_years = "2015-2019"
    outcome_types_fine = outcome_types = "Placement order"


class ScopingChildRowFactory(DjangoModelFactory):
    class Meta:
        model = ScopingChildRow

    mother_row = factory.SubFactory(ScopingWomanRowFactory)
    programme = factory.SelfAttribute("mother_row.programme")
    token = factory.Sequence(lambda n: f"C-TOKEN-{n}")
    year_band = "2015-2019"
    outcome = "Adopted"


class ContactAttemptFactory(ProtectedFactory):
    """A practitioner's contact with a released woman (give `released_woman` and `recorded_by`)."""

    class Meta:
        model = ContactAttempt

    programme = factory.SelfAttribute("released_woman.programme")
    contacted_on = factory.LazyFunction(timezone.localdate)
    method = ContactMethod.PHONE
    outcome = Participation.AGREED


class SafeguardingConcernFactory(ProtectedFactory):
    """An open safeguarding concern about a released woman (give `released_woman` and `raised_by`)."""

    class Meta:
        model = SafeguardingConcern

    programme = factory.SelfAttribute("released_woman.programme")
    kind = "safeguarding"
    lawful_bases = factory.LazyFunction(lambda: {"pause": dict(BASES["pause"])})
