"""The Trust's case records: extracts, women, children, legal statuses and care episodes. Direct
identifiers are given as plain values and stored through the model's own `protect` with the
programme's key, so the ciphertexts and blind indexes are what an import writes. Names and dates
come from Faker (en_GB, seeded per test); identifiers are sequences, so never repeat."""

from __future__ import annotations

from datetime import date

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from eligibility.models import CareEpisode, Child, Extract, ExtractStatus, LegalStatus, Woman
from pseudonymisation.fields import Protector, encrypted_fields
from tests.factories.tenancy import PersonFactory, ProgrammeFactory

UNFINISHED = (ExtractStatus.RECEIVED, ExtractStatus.RUNNING)


def fake(provider: str, **kwargs) -> factory.Faker:
    return factory.Faker(provider, locale="en_GB", **kwargs)


class ExtractFactory(DjangoModelFactory):
    """An imported extract (finished, unless its status says it is still being received or run)."""

    class Meta:
        model = Extract

    programme = factory.SubFactory(ProgrammeFactory)
    uploaded_by = factory.SubFactory(PersonFactory, organisation=factory.SelfAttribute("..programme.trust"))
    sha256 = factory.Sequence(lambda n: f"{n:064x}")
    size_bytes = 1
    status = ExtractStatus.SUCCEEDED
    finished_at = factory.LazyAttribute(lambda e: None if e.status in UNFINISHED else timezone.now())


def latest_extract(programme) -> Extract:
    """The programme's latest imported extract, or a new one: records made together share it."""
    return (Extract.objects.filter(programme=programme, status=ExtractStatus.SUCCEEDED).order_by("-pk").first()
            or ExtractFactory(programme=programme))


class ProtectedFactory(DjangoModelFactory):
    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        plain = {f.name: kwargs.pop(f.name) for f in encrypted_fields(model_class) if f.name in kwargs}
        record = model_class(*args, **kwargs)
        record.protect(Protector.load(record.programme_id, model_class.key_phase), **plain)
        record.save()
        return record


class WomanFactory(ProtectedFactory):
    """A woman with a Trust id, a name and a date of birth (an NHS number and a postcode only when
    given)."""

    class Meta:
        model = Woman

    programme = factory.SubFactory(ProgrammeFactory)
    first_extract = factory.LazyAttribute(lambda w: latest_extract(w.programme))
    last_extract = factory.SelfAttribute("first_extract")
    trust_person_id = factory.Sequence(lambda n: f"W{n}")
    forename = fake("first_name_female")
    surname = fake("last_name")
    date_of_birth = fake("date_between", start_date=date(1982, 1, 1), end_date=date(2004, 12, 31))


class ChildFactory(ProtectedFactory):
    class Meta:
        model = Child

    mother = factory.SubFactory(WomanFactory)
    programme = factory.SelfAttribute("mother.programme")
    first_extract = factory.SelfAttribute("mother.last_extract")
    last_extract = factory.SelfAttribute("first_extract")
    trust_person_id = factory.Sequence(lambda n: f"C{n}")
    date_of_birth = date(2012, 3, 4)
    birth_year = factory.LazyAttribute(lambda c: c.date_of_birth.year if c.date_of_birth else None)


class LegalStatusFactory(DjangoModelFactory):
    """A legal status period; C2 (a care order) is counted by the rules."""

    class Meta:
        model = LegalStatus

    child = factory.SubFactory(ChildFactory)
    source_row_id = factory.Sequence(lambda n: f"L{n}")
    code = "C2"
    start_date = date(2020, 1, 1)
    extract = factory.SelfAttribute("child.last_extract")


class CareEpisodeFactory(DjangoModelFactory):
    class Meta:
        model = CareEpisode

    child = factory.SubFactory(ChildFactory)
    source_row_id = factory.Sequence(lambda n: f"E{n}")
    start_date = date(2010, 1, 1)
    ceased_date = None
    ceased_reason = ""
    extract = factory.SelfAttribute("child.last_extract")

