"""The record of processing (issue 23, point 1; ADR 43): every heading filled from the confirmed
agreement, the data classification and the deployment's settings, one record per controller, and
a new record when the agreement changes. Real actions make the agreements (a Trust lead proposes,
the Caldicott Guardian confirms)."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from pypdf import PdfReader

from audit.core.models import AuditEntry, Event
from audit.oversight.record_files import as_csv_text, as_html, as_pdf
from audit.oversight.record_of_processing import HEADINGS, RecordRefused, record_of_processing
from sharing.agreements import confirm_agreement, propose_agreement, values_of
from sharing.demo_delivery import agreement_values
from sharing.dpia_register import RiskValues, add_risk, record_review
from sharing.scoping_term import current_agreement
from tests import factories as f
from tests.conftest import sign_in_verified
from tests.root.test_demo_crawl import RAW_CODE

pytestmark = pytest.mark.django_db

# The keys the issue names, each to be filled.
KEYS = ("controllers", "dpo", "purposes", "data_subject_categories", "personal_data_categories", "recipients",
        "transfers", "retention", "security_measures", "lawful_bases", "agreement_version", "generated_at")


@pytest.fixture
def agreed(programme, trust_lead, caldicott, dpo):
    """The programme with its first version confirmed: the demo's values."""
    version = propose_agreement(programme=programme, by=trust_lead, values=agreement_values(programme,
                                                                                            today=date(2026, 3, 1)))
    return confirm_agreement(agreement=version, by=caldicott, justification="Within the agreed purpose")


def change(programme, lead, caldicott, reason="Synthetic change", **values):
    proposed = propose_agreement(programme=programme, by=lead, values={**values_of(current_agreement(programme)),
                                                                       **values}, change_reason=reason)
    return confirm_agreement(agreement=proposed, by=caldicott, justification="Within the agreed purpose")


def filled(data: dict) -> list[str]:
    """The keys whose value is empty, or a list with an empty item."""
    empty = []
    for key in KEYS:
        value = data.get(key)
        if not value or (isinstance(value, list) and any(not item.get("item") for item in value)):
            empty.append(key)
    return empty


@pytest.mark.parametrize("controller", ["trust", "pause"])
def test_every_heading_is_filled_and_the_record_changes_when_the_agreement_does(
        controller, agreed, programme, trust_lead, caldicott, dpo):
    before = record_of_processing(programme, controller).as_json()
    assert set(KEYS) <= set(before) and filled(before) == []
    assert before["schedule_1_conditions"] and all(before["schedule_1_conditions"][0].values())
    assert before["agreement_version"] == 1
    if controller == "trust":
        assert [d["item"] for d in before["dpo"]] == [dpo.full_name]
    else:  # Pause's DPO as the agreement names them (ADR 49)
        assert [d["detail"] for d in before["dpo"]] == ["pause.dpo@demo.invalid"]

    bases = {"trust": {"article_6": "art6_1_e", "article_9": "art9_2_g_p6", "power": "ca1989_s17"},
             "pause": {"article_6": "art6_1_f", "article_9": "art9_2_a", "power": ""}}
    retention = {**agreed.retention, "trust_records": "3 years", "delivery_records": "18 months"}
    change(programme, trust_lead, caldicott, purposes="Synthetic purposes, version two", lawful_bases=bases,
           retention=retention, uk_only_processing=False, policy_document_reference="APD-SYNTH-02",
           pause_dpo_email="privacy@pause-synthetic.invalid")
    after = record_of_processing(programme, controller).as_json()
    if controller == "pause":
        assert [d["detail"] for d in after["dpo"]] == ["privacy@pause-synthetic.invalid"]
    assert filled(after) == []
    assert after["agreement_version"] == 2
    assert "Synthetic purposes, version two" in json.dumps(after) and "Synthetic purposes" not in json.dumps(before)
    assert after["lawful_bases"] != before["lawful_bases"]
    assert after["transfers"][0]["item"] == "Not restricted to the UK" and before["transfers"][0]["item"] == "None"
    changed = {"trust": "3 years", "pause": "18 months"}[controller]
    assert any(d["detail"].startswith(changed) for d in after["retention"])
    assert not any(d["detail"].startswith(changed) for d in before["retention"])
    condition = after["schedule_1_conditions"][0]
    if controller == "trust":  # Schedule 1 Part 2 paragraph 6 needs the policy document, now version 2's
        assert "paragraph 6" in condition["condition"] and condition["policy_document"] == "APD-SYNTH-02"
    else:  # explicit consent needs none
        assert "explicit consent" in condition["condition"] and condition["policy_document"].startswith("Not needed")


def test_there_is_no_record_without_a_confirmed_agreement_and_a_waiting_version_is_not_read(
        programme, trust_lead, caldicott):
    with pytest.raises(RecordRefused, match="no confirmed data-sharing agreement"):
        record_of_processing(programme)
    propose_agreement(programme=programme, by=trust_lead, values=agreement_values(programme, today=date(2026, 3, 1)))
    with pytest.raises(RecordRefused, match="no confirmed data-sharing agreement"):
        record_of_processing(programme)
    with pytest.raises(RecordRefused, match="no controller \u201cprocessor\u201d"):
        record_of_processing(programme, "processor")


def test_special_category_data_is_named_as_such_from_the_classification_and_follows_the_items(
        agreed, programme, trust_lead, caldicott):
    trust = {d["item"]: d["detail"] for d in record_of_processing(programme, "trust").as_json()["personal_data_categories"]}
    assert "ethnicity" in trust["Special category data: the women's records"]
    assert "NHS number" in trust["Direct identifiers: the women's records"]
    pause = [d["item"] for d in record_of_processing(programme, "pause").as_json()["personal_data_categories"]]
    assert "Special category data: Her broad ethnic group" in pause
    assert "Direct identifiers: Her name" in pause

    items = {**agreed.data_items, "scoping": [i for i in agreed.data_items["scoping"] if i != "broad_ethnic_group"]}
    change(programme, trust_lead, caldicott, data_items=items)
    pause = [d["item"] for d in record_of_processing(programme, "pause").as_json()["personal_data_categories"]]
    assert "Special category data: Her broad ethnic group" not in pause
    assert "Indirect identifiers: Her age, in bands" in pause


def test_periods_the_portal_cannot_apply_are_not_kept_in_line_with_the_policy(agreed, programme, trust_lead, caldicott):
    condition = record_of_processing(programme, "pause").conditions[0]
    assert condition.retained_and_erased.startswith("Yes: the portal itself applies")
    change(programme, trust_lead, caldicott, retention={**agreed.retention, "delivery_records": "until she leaves"})
    condition = record_of_processing(programme, "pause").conditions[0]
    assert condition.retained_and_erased.startswith("No: the portal cannot apply these periods")
    assert "until she leaves" in condition.retained_and_erased


def test_the_security_measures_give_the_dpia_review_date_and_its_open_high_risks(agreed, programme, trust_lead):
    def dpia_item():
        (item,) = [i for i in record_of_processing(programme).as_json()["security_measures"]
                   if i["item"] == "DPIA review"]
        return item["detail"]

    assert dpia_item() == "No review of the DPIA is recorded, so nothing is released; 0 open high risks in its register"
    today = timezone.localdate()
    record_review(programme=programme, by=trust_lead, reviewed_on=today, next_review_on=today + timedelta(days=90))
    risk = RiskValues(description="People could be identified from the rows shared", likelihood="probable",
                      severity="severe", mitigations="", residual_risk="high", owner=trust_lead, status="open")
    add_risk(programme=programme, by=trust_lead, values=risk)
    add_risk(programme=programme, by=trust_lead, values=RiskValues(**{**risk.__dict__, "status": "accepted"}))
    due = today + timedelta(days=90)
    assert dpia_item() == (f"last reviewed on {today.day} {today:%B %Y}, next review due on {due.day} {due:%B %Y} "
                           "(no release after that date without a new review); 1 open high risk in its register")


def test_the_record_holds_no_womans_or_childs_data_and_no_code(agreed, programme):
    """Privacy claim (ADR 43): the record is made from configuration, never from her records."""
    woman = f.WomanFactory(programme=programme, forename="Quillane", surname="Ottermead", nhs_number="9434765919",
                           postcode="ZZ9 9ZZ", trust_person_id="W-SYNTH-41")
    f.ChildFactory(mother=woman, trust_person_id="C-SYNTH-77")
    for controller in ("trust", "pause"):
        record = record_of_processing(programme, controller)
        texts = [json.dumps(record.as_json()), as_csv_text(record), as_html(record)]
        for text in texts:
            for value in ("Quillane", "Ottermead", "9434765919", "ZZ9 9ZZ", "C-SYNTH-77", "W-SYNTH-41"):
                assert value not in text
        assert RAW_CODE.findall(as_html(record)) == []


def test_the_csv_has_one_row_a_headings_item_and_the_pdf_every_heading(agreed, programme):
    record = record_of_processing(programme, "trust")
    rows = list(csv.reader(io.StringIO(as_csv_text(record))))
    assert rows[0] == ["heading", "item", "detail"]
    assert len(rows) - 1 == len(record.rows())
    assert {r[0] for r in rows[1:]} == set(HEADINGS.values())
    assert all(r[1] for r in rows[1:])

    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(as_pdf(record))).pages)
    flat = " ".join(text.split())
    for title in HEADINGS.values():
        assert title in flat, title
    assert "APD-DEMO-01" in flat and programme.name in flat


# --- the command -----------------------------------------------------------------------------
def run(*args) -> str:
    out = io.StringIO()
    call_command("record_of_processing", *args, stdout=out)
    return out.getvalue()


def test_the_command_writes_each_format_for_each_controller(agreed, programme):
    trust = json.loads(run("--programme", programme.name, "--format", "json"))
    pause = json.loads(run("--programme", programme.name, "--controller", "pause", "--format", "json"))
    assert trust["controller"] == "trust" and pause["controller"] == "pause"
    assert filled(trust) == [] and filled(pause) == []
    assert trust["controllers"][0]["item"] == programme.trust.name
    assert pause["controllers"][0]["item"] == programme.pause_practice.name
    assert run("--programme", programme.name, "--format", "csv").startswith("heading,item,detail")
    assert "<h2 class=\"govuk-heading-m\">Retention periods</h2>" in run("--programme", programme.name, "--format", "html")


@pytest.mark.parametrize(("args", "message"), [
    (["--programme", "Test programme", "--format", "xml"], "no format \u201cxml\u201d"),
    (["--programme", "Test programme", "--controller", "processor"], "no controller \u201cprocessor\u201d"),
    (["--programme", "Nowhere"], "no programme called \u201cNowhere\u201d"),
])
def test_the_command_says_what_is_wrong(args, message, agreed):
    with pytest.raises(CommandError, match=message):
        run(*args)


def test_the_command_refuses_a_programme_with_no_confirmed_agreement(programme):
    with pytest.raises(CommandError, match="no confirmed data-sharing agreement"):
        run("--programme", programme.name)


# --- the DPO's page --------------------------------------------------------------------------
def test_the_dpo_reads_each_record_and_downloads_it_as_a_pdf(agreed, programme, dpo):
    client = sign_in_verified(Client(), dpo)
    before = AuditEntry.objects.filter(event=Event.DISCLOSURE, actor=dpo, reason="staff details").count()
    page = client.get(reverse("dpo:record-of-processing"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "govuk-summary-list" in html and escape(programme.trust.name) in html and escape(dpo.full_name) in html
    assert RAW_CODE.findall(html) == []
    assert AuditEntry.objects.filter(event=Event.DISCLOSURE, actor=dpo, reason="staff details").count() == before + 1
    pause = client.get(reverse("dpo:record-of-processing") + "?controller=pause").content.decode()
    assert "Pause's record</strong> (shown)" in pause and "Not needed" not in pause

    pdf = client.get(reverse("dpo:record-of-processing-pdf") + "?controller=pause")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"].startswith('attachment; filename="record-of-processing-pause-')
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages).split())
    assert "Record of processing: Pause" in text


def test_an_unknown_controller_is_answered_with_what_is_wrong(agreed, dpo):
    client = sign_in_verified(Client(), dpo)
    for name in ("dpo:record-of-processing", "dpo:record-of-processing-pdf"):
        response = client.get(reverse(name) + "?controller=processor")
        assert response.status_code == 400
        assert escape("There is no controller \u201cprocessor\u201d") in response.content.decode()


def test_with_no_confirmed_agreement_the_page_says_so_and_there_is_no_pdf(programme, dpo):
    client = sign_in_verified(Client(), dpo)
    page = client.get(reverse("dpo:record-of-processing"))
    assert page.status_code == 200 and "no confirmed data-sharing agreement" in page.content.decode()
    assert client.get(reverse("dpo:record-of-processing-pdf")).status_code == 400


@pytest.mark.parametrize("actor", ["caseworker", "trust_lead", "caldicott", "pause_lead", "practitioner",
                                   "system_admin"])
def test_nobody_but_the_dpo_reaches_the_record(actor, actors, agreed):
    client = sign_in_verified(Client(), actors[actor])
    for name in ("dpo:record-of-processing", "dpo:record-of-processing-pdf"):
        assert client.get(reverse(name)).status_code == 404, (name, actor)
    assert Client().get(reverse("dpo:record-of-processing"))["Location"].startswith(reverse("accounts:sign-in"))


def test_another_programmes_dpo_reads_only_their_own_programmes_record(agreed, programme, other_programme):
    outsider = f.person(other_programme.trust)
    f.membership(outsider, other_programme, "dpo")
    page = sign_in_verified(Client(), outsider).get(reverse("dpo:record-of-processing"))
    html = page.content.decode()
    assert escape(programme.trust.name) not in html and "no confirmed data-sharing agreement" in html
