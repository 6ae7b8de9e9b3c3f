"""Lawful bases as the law names them, per controller (issue 21, point 4; ADR 31).

- The vocabulary: Art. 6 (c), (d), (e), (f); Art. 9 (2)(a), (c), (g), (h), with the DPA 2018
  Schedule 1 condition named where the Article needs one; statutory powers seeded with the
  Children Act 2004 s.10 and s.11 and the Children Act 1989 s.17.
- Each controller's three fields are validated together; a public task needs its power.
- The agreement, every release, concern and phase change records its bases, and every page, the
  DPO's access pack and the audit trail show plain words, never a code.
- A Trust lead adds a statutory power; it can be cited only once the Caldicott Guardian (never
  its proposer) confirms it.
"""

from __future__ import annotations

import importlib
import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from audit.core.models import AuditEntry, Event
from audit.oversight.pack_sources import release_events
from pause_portal.tenancy.models import Phase
from pause_portal.tenancy.roles import Role
from sharing import lawful_bases as bases
from sharing import statutory_powers
from sharing.agreements import confirm_agreement, propose_agreement, summary
from sharing.concerns import raise_concern
from sharing.delivery_release import DeliveryReleaseRefused, ToRelease, release_for_delivery
from sharing.demo_delivery import agreement_values
from sharing.models_delivery import DeliveryRelease, ReleasedWoman
from sharing.models_powers import StatutoryPower
from sharing.models_scoping import ChangeStatus, PhaseChange
from sharing.phases import propose_phase_change
from sharing.scoping_term import current_agreement
from tests import factories as f
from tests.conftest import sign_in_verified
from tests.sharing.delivery.world import delivery_world, one_each_world
from tests.sharing.test_scoping_world import member

pytestmark = pytest.mark.django_db

# Every code the vocabularies hold, and the shapes of codes earlier versions used: none may reach a page.
CODE = re.compile(r"\b(art6_1_[a-z]|art9_2_[a-z]\w*|sch1_p\d+_\d+|ca(?:1989|2004)_s\d+|power_\d+|"
                  r"6\(1\)\([a-f]\), 9|art6|art9)\b")


def codes_in(text: str) -> list[str]:
    return CODE.findall(text)


def agree(world, **changes):
    values = agreement_values(world.programme, today=world.programme.phase_started_at.date()) | changes
    proposed = propose_agreement(programme=world.programme, by=world.trust_lead, values=values,
                                 change_reason="Synthetic change of the agreement")
    return confirm_agreement(agreement=proposed, by=world.caldicott, justification="Within the agreed purpose")


# --- the vocabulary -----------------------------------------------------------------------------
def test_the_vocabulary_is_the_articles_the_issue_names_with_their_schedule_1_conditions():
    assert sorted(c[-1] for c in bases.ARTICLE_6) == ["c", "d", "e", "f"]
    assert {c[len("art9_2_")] for c in bases.ARTICLE_9} == {"a", "c", "g", "h"}
    for code, basis in bases.ARTICLE_9.items():
        if code.startswith(("art9_2_g", "art9_2_h")):
            assert "DPA 2018 Schedule 1" in basis.label, code
    assert bases.ARTICLE_9["art9_2_g"].needs_policy_document and not bases.ARTICLE_9["art9_2_h"].needs_policy_document
    assert [b.code for b in bases.ARTICLE_6.values() if b.needs_power] == ["art6_1_c", "art6_1_e"]
    seeded = " | ".join(bases.SEEDED_POWERS.values())
    for power in ("Children Act 2004, section 10", "Children Act 2004, section 11", "Children Act 1989, section 17"):
        assert power in seeded


def test_every_label_starts_in_plain_words_and_is_never_its_code():
    for vocabulary in (bases.ARTICLE_6, bases.ARTICLE_9):
        for code, basis in vocabulary.items():
            assert code not in basis.label and not basis.label.startswith(("UK GDPR", "Art")), code
    assert bases.label("article_9", "sch1_p2_18") == bases.ARTICLE_9["art9_2_g"].label  # earlier concerns' code
    assert bases.label("article_6", "") == "Not recorded"
    assert not codes_in(" ".join(bases.lines(["art6_1_e", "art9_2_h"])))  # an earlier agreement's list


def test_the_migration_reads_an_earlier_list_as_the_trusts_bases():
    migration = importlib.import_module("sharing.migrations.0013_lawful_bases_per_controller")
    assert migration._from_list(["art6_1_e", "art9_2_h", "art9_2_g"]) == {
        "trust": {"article_6": "art6_1_e", "article_9": "art9_2_h", "power": ""}}
    assert migration._from_list([]) == {}
    assert bases.normalised(["art6_1_e", "art9_2_h"]) == migration._from_list(["art6_1_e", "art9_2_h"])


# --- the agreement ------------------------------------------------------------------------------
def test_the_agreement_records_each_controllers_bases_and_shows_them_in_words():
    world = delivery_world(women=0)
    agreement = current_agreement(world.programme)
    assert set(agreement.lawful_bases) == {"trust", "pause"}
    lines = next(s["values"] for s in summary(agreement) if s["label"] == "Lawful bases")
    assert lines[0].startswith("The Trust: A task in the public interest")
    assert "Children Act 2004, section 11" in lines[0] and lines[1].startswith("Pause: Legitimate interests")
    for person in (world.trust_lead, world.caldicott, world.pause_lead):
        body = sign_in_verified(Client(), person).get(reverse("governance:agreement")).content.decode()
        assert "Legitimate interests" in body and not codes_in(body), person


def test_the_propose_form_asks_three_fields_for_each_controller_in_words():
    world = delivery_world(women=0)
    body = sign_in_verified(Client(), world.trust_lead).get(reverse("governance:agreement-propose")).content.decode()
    for name in ("trust_article_6", "trust_article_9", "trust_power", "pause_article_6", "pause_article_9",
                 "pause_power"):
        assert f'name="{name}"' in body, name
    assert "Children Act 1989, section 17: services for children in need" in body
    labels = re.findall(r'<label class="govuk-label[^"]*"[^>]*>\s*([^<]+?)\s*</label>', body)
    assert not codes_in(" ".join(labels))


def test_the_dpia_date_of_the_version_in_force_is_shown_as_its_own_validator_accepts_it():
    world = delivery_world(women=0)
    lead = sign_in_verified(Client(), world.trust_lead)
    body = lead.get(reverse("governance:agreement-propose")).content.decode()
    signed = current_agreement(world.programme).dpia_signed_off_on
    shown = re.search(r'name="dpia_signed_off_on" value="([^"]*)"', body).group(1)
    assert shown == f"{signed.day:02d}/{signed.month:02d}/{signed.year}"  # was "6 Nov 2026", which it refused


def test_a_public_task_needs_its_power_and_nothing_else_takes_one():
    world = delivery_world(women=0)
    for pause, field, message in (
            ({"article_6": "art6_1_e", "article_9": "art9_2_g"}, "pause_power", "Choose the law that sets out"),
            ({"article_6": "art6_1_d", "article_9": "art9_2_c", "power": "ca1989_s17"}, "pause_power",
             "Leave the statutory power empty")):
        values = agreement_values(world.programme, today=world.programme.phase_started_at.date())
        values["lawful_bases"] = {**values["lawful_bases"], "pause": pause}
        with pytest.raises(ValidationError) as exc:
            propose_agreement(programme=world.programme, by=world.trust_lead, values=values, change_reason="x")
        assert message in " ".join(exc.value.message_dict[field])


def test_an_agreement_without_pauses_bases_blocks_every_release():
    world = delivery_world(women=0)  # a version as sharing 0013 left an earlier one: the Trust's bases only
    f.AgreementFactory(programme=world.programme, proposed_by=world.trust_lead, decided_by=world.caldicott,
                       lawful_bases={"trust": f.BASES["trust"]})
    with pytest.raises(DeliveryReleaseRefused) as exc:
        world.release(world.women(1))
    assert "The agreement does not record Pause's lawful bases (its Article 6 basis and its Article 9 condition)" in (
        exc.value.problems)


# --- releases, concerns and phase changes record them -------------------------------------------
def test_a_release_records_both_controllers_bases_and_every_page_shows_them_in_words():
    world = delivery_world(women=2)
    release = DeliveryRelease.objects.get(programme=world.programme)
    assert release.lawful_bases == current_agreement(world.programme).lawful_bases
    entry = AuditEntry.objects.get(event=Event.CHANGE, object_repr=f"sharing.deliveryrelease:{release.pk}")
    assert "Pause: Legitimate interests" in entry.reason and not codes_in(entry.reason)
    body = sign_in_verified(Client(), world.trust_lead).get(reverse("delivery:release")).content.decode()
    assert "The Trust: A task in the public interest" in body and not codes_in(body)
    assert escape(release.trust_notice.label) in body  # the notice version in force, cited


def test_the_access_pack_names_the_release_bases_and_items_in_words():
    world = delivery_world(women=1)
    her = world.released[0]
    events = release_events(her.woman, her)
    delivery = [e for e in events if e.phase == "delivery"]
    assert delivery and delivery[0].bases.startswith("The Trust: A task in the public interest")
    assert "her name; her date of birth; her postcode" in delivery[0].what
    assert not codes_in(delivery[0].bases + delivery[0].what)


def test_the_pack_says_what_the_release_shared_under_its_own_agreement():
    world = delivery_world(women=0)
    agree(world, data_items={"scoping": ["scoping_tokens"], "delivery": ["name", "trust_contact"]})
    release = release_for_delivery(world.programme, [ToRelease(w, "") for w in world.women(1)], by=world.trust_lead,
                                   trust_contact=world.trust_lead)
    her = ReleasedWoman.objects.get(release=release)
    what = next(e.what for e in release_events(her.woman, her) if e.phase == "delivery")
    assert what.endswith("her name; her contact at the Trust") and "date of birth" not in what


def test_a_concern_records_pauses_bases_and_its_page_and_the_pack_show_them_in_words():
    world = one_each_world()
    concern = raise_concern(world.released[0], by=world.practitioners[0], kind="safeguarding",
                            summary="Synthetic concern")
    assert concern.lawful_bases == {"pause": current_agreement(world.programme).lawful_bases["pause"]}
    for person in (world.practitioners[0], world.trust_lead):
        body = sign_in_verified(Client(), person).get(reverse("casework:concern", args=[concern.pk])).content.decode()
        assert "Pause: Legitimate interests" in body and not codes_in(body), person
    form = sign_in_verified(Client(), world.practitioners[0]).get(
        reverse("casework:raise", args=[world.released[0].pk])).content.decode()
    assert 'value="art6_1_f" checked' in form.replace("\n", " ") or re.search(
        r'value="art6_1_f"[^>]*checked', form), "Pause's basis in the agreement is the starting choice"


def test_a_phase_change_records_the_bases_in_force_and_shows_them_in_words():
    world = delivery_world(women=0)
    change = propose_phase_change(programme=world.programme, by=world.trust_lead, reason="Synthetic: closing")
    assert change.lawful_bases == current_agreement(world.programme).lawful_bases
    entry = AuditEntry.objects.get(event=Event.CHANGE, object_repr=f"sharing.phasechange:{change.pk}")
    assert "under The Trust: A task in the public interest" in entry.reason
    body = sign_in_verified(Client(), world.caldicott).get(reverse("governance:phase")).content.decode()
    assert "Pause: Legitimate interests" in body and not codes_in(body)
    assert PhaseChange.objects.get().to_phase == Phase.CLOSED


# --- statutory powers: a Trust lead adds, the Caldicott Guardian confirms ------------------------
def test_a_power_is_cited_only_once_the_caldicott_guardian_confirms_it():
    world = delivery_world(women=0)
    power = statutory_powers.propose_power(programme=world.programme, by=world.trust_lead,
                                           label="Children Act 1989, section 22: looked-after children (synthetic)",
                                           justification="Synthetic legal advice")
    values = agreement_values(world.programme, today=world.programme.phase_started_at.date())
    values["lawful_bases"] = {**values["lawful_bases"],
                              "trust": {**values["lawful_bases"]["trust"], "power": power.code}}
    with pytest.raises(ValidationError) as exc:  # waiting: not yet citable
        propose_agreement(programme=world.programme, by=world.trust_lead, values=values, change_reason="x")
    assert exc.value.message_dict["trust_power"] == ["Choose a statutory power from the list"]
    with pytest.raises(PermissionDenied):
        statutory_powers.decide_power(power=power, by=world.trust_lead, confirm=True, justification="Confirmed by legal advice")
    statutory_powers.decide_power(power=power, by=world.caldicott, confirm=True, justification="Confirmed by legal advice")
    agreement = confirm_agreement(agreement=propose_agreement(programme=world.programme, by=world.trust_lead,
                                                              values=values, change_reason="Our power"),
                                  by=world.caldicott, justification="The power is confirmed")
    assert agreement.lawful_bases["trust"]["power"] == power.code
    assert "under Children Act 1989, section 22: looked-after children (synthetic)" in bases.in_words(
        agreement.lawful_bases)
    body = sign_in_verified(Client(), world.pause_lead).get(reverse("governance:agreement")).content.decode()
    assert "section 22: looked-after children" in body and not codes_in(body)


def test_a_power_belongs_to_its_programme():
    world, other = delivery_world(women=0), delivery_world(women=0)
    power = statutory_powers.propose_power(programme=other.programme, by=other.trust_lead,
                                           label="Synthetic Act 2026, section 1", justification="Synthetic")
    statutory_powers.decide_power(power=power, by=other.caldicott, confirm=True, justification="Confirmed by legal advice")
    assert power.code in dict(bases.power_choices(other.programme.pk))
    assert power.code not in dict(bases.power_choices(world.programme.pk))


@pytest.mark.parametrize("label,message", [
    ("", "Enter the statutory power"),
    ("children act 2004, section 10: co-operation to improve the well-being of children", "already on the list"),
    ("x" * 301, "300 characters or fewer"),
])
def test_bad_powers_are_refused_and_nothing_is_written(label, message):
    world = delivery_world(women=0)
    with pytest.raises(ValidationError) as exc:
        statutory_powers.propose_power(programme=world.programme, by=world.trust_lead, label=label,
                                       justification="Synthetic")
    assert message in exc.value.message_dict["label"][0]
    assert not StatutoryPower.objects.exists()


def test_the_powers_pages_propose_and_confirm_with_a_denial_for_everyone_else():
    world = delivery_world(women=0)
    lead, guardian = sign_in_verified(Client(), world.trust_lead), sign_in_verified(Client(), world.caldicott)
    response = lead.post(reverse("governance:power-propose"), {"label": "", "justification": ""})
    assert response.status_code == 400 and "Enter the statutory power" in response.content.decode()
    response = lead.post(reverse("governance:power-propose"),
                         {"label": "Synthetic Act 2026, section 2", "justification": "Synthetic advice"})
    assert response.status_code == 302
    power = StatutoryPower.objects.get()
    assert power.status == ChangeStatus.PROPOSED
    for person in (world.pause_lead, world.practitioners[0], member(world.programme, Role.DPO)):
        client = sign_in_verified(Client(), person)
        assert client.post(reverse("governance:power-propose"),
                           {"label": "Another Act", "justification": "x"}).status_code in (403, 404)
        assert client.post(reverse("governance:power-decide"),
                           {"proposal": power.pk, "decision": "confirm"}).status_code in (403, 404)
    assert lead.post(reverse("governance:power-decide"),
                     {"proposal": power.pk, "decision": "confirm"}).status_code in (403, 404)
    response = guardian.post(reverse("governance:power-decide"), {"proposal": power.pk, "decision": "confirm"})
    assert response.status_code == 400
    assert "Enter your justification for confirming or rejecting" in response.content.decode()
    assert StatutoryPower.objects.get().status == ChangeStatus.PROPOSED
    response = guardian.post(reverse("governance:power-decide"),
                             {"proposal": power.pk, "decision": "confirm", "reason": "Legal advice agrees"})
    assert response.status_code == 302
    power.refresh_from_db()
    assert power.status == ChangeStatus.CONFIRMED and power.decided_by == world.caldicott
    assert AuditEntry.objects.filter(object_repr=f"sharing.statutorypower:{power.pk}").count() == 2
    body = guardian.get(reverse("governance:powers")).content.decode()
    assert "Synthetic Act 2026, section 2" in body and not codes_in(body)
