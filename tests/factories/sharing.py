"""A programme's data-sharing agreement. All invented."""

from __future__ import annotations

from datetime import date

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from pause_portal.tenancy.roles import Role
from sharing.models_scoping import Agreement, ChangeStatus
from tests.factories.tenancy import ProgrammeFactory, member


class AgreementFactory(DjangoModelFactory):
    """The programme's next version, proposed by a Trust lead and confirmed by its Caldicott
    Guardian (new members of the programme unless given), allowing scoping by age band and ethnic
    group."""

    class Meta:
        model = Agreement

    programme = factory.SubFactory(ProgrammeFactory)
    version = factory.LazyAttribute(lambda a: Agreement.objects.filter(programme=a.programme).count() + 1)
    parties = "The Trust (controller); Pause (controller)"
    purposes = "Scoping the need for a Pause practice"
    lawful_bases = factory.LazyFunction(lambda: ["6(1)(e)", "9(2)(h)"])
    data_items = factory.LazyFunction(lambda: {"scoping": ["age_band", "ethnic_group"]})
    retention = factory.LazyFunction(lambda: {"scoping": "3 months"})
    uk_only_processing = True
    policy_document_reference = "APD-2026-01"
    dpia_reference = "DPIA-7"
    dpia_signed_off_by = "A Guardian, Caldicott Guardian"
    dpia_signed_off_on = date(2026, 1, 5)
    status = ChangeStatus.CONFIRMED
    proposed_by = factory.LazyAttribute(lambda a: member(a.programme, Role.TRUST_LEAD))
    decided_by = factory.LazyAttribute(lambda a: member(a.programme, Role.CALDICOTT_GUARDIAN))
    decided_at = factory.LazyFunction(timezone.now)
