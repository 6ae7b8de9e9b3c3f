"""The subject access pack: exactly her data, her releases and her access log; nothing of another
person until the DPO decides on each item; hostile names escaped in an HTML document with a
restrictive CSP; CSV safe from formulas; the download refused until every item has a decision,
then recorded. And the disclosure rule behind it: the DPO sees a woman's records only under an
open request's reference. All data is synthetic."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import zipfile
from datetime import date

import pytest

from audit.core.models import AuditEntry, Event
from audit.core.models_rights import RedactionBasis, RedactionDecision
from audit.oversight import access_pack, rights
from audit.oversight.access_pack_files import PACK_CSS, csp, pack_html, pack_zip
from audit.oversight.csv_safe import safe_cell
from eligibility.disclosure import disclose
from eligibility.models import Child, Woman
from pause_portal.tenancy.models import Person
from pseudonymisation.fields import Protector
from tests.audit.oversight.test_rights_world import rights_world

pytestmark = pytest.mark.django_db


def _texts(content: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name).decode("utf-8-sig") for name in archive.namelist()}


def _as_read(value: str) -> str:
    """A value as a pack shows it: ISO dates in words ("1 January 1990"), anything else as it is."""
    try:
        d = date.fromisoformat(value)
    except ValueError:
        return value
    return d.strftime("%-d %B %Y")


def _children_dobs(woman: Woman) -> list[str]:
    protector = Protector.load(woman.programme_id, Woman.key_phase)
    return [_as_read(c.reveal(protector, "date_of_birth")) for c in Child.objects.filter(mother=woman)]


@pytest.fixture
def world():
    w = rights_world(women=2)
    first, second = w.delivery.released
    w.delivery.assign(first, w.delivery.practitioners[0])
    w.delivery.assign(second, w.delivery.practitioners[1])
    disclose(w.delivery.pause_lead, [first], page="/test/her-view", reason="her page")
    disclose(w.delivery.practitioners[1], [second], page="/test/other-view", reason="other page")
    return w


def _decide_all(w, rr, basis=RedactionBasis.REASONABLE):
    for item in access_pack.build(rr, by=w.dpo, page="/t").items:
        access_pack.decide_item(rr, item=item.ref, basis=basis, by=w.dpo)


def test_the_pack_holds_exactly_her_data_releases_and_access_log_and_nobody_elses(world):
    w = world
    first, second = w.delivery.released
    ids = w.delivery.cohort.identifiers
    hers, theirs = [_as_read(v) for v in ids[:8]], [_as_read(v) for v in ids[8:16]]
    rr = w.request("access")
    pack = access_pack.build(rr, by=w.dpo, page="/rights/pack/")
    name, content, _ = pack_zip(pack)
    files = _texts(content)
    assert name == f"access-pack-{rr.reference}.zip"
    assert set(files) == {f"access-pack-{rr.reference}/access-pack-{rr.reference}.html"} | {
        f"access-pack-{rr.reference}/{s.key}.csv" for s in pack.sections}
    everything = "\n".join(files.values())
    for value in hers[:5] + [hers[5]]:  # Trust id, forename, surname, NHS number, postcode, date of birth
        assert value in everything, value
    for value in theirs + _children_dobs(second.woman) + _children_dobs(first.woman):
        assert value not in everything, value
    staff = Person.objects.exclude(is_system_admin=True)
    assert not [p.full_name for p in staff if p.full_name in everything]
    # her release: when, in which phase, under which agreement and basis
    releases = list(csv.reader(io.StringIO(files[f"access-pack-{rr.reference}/releases.csv"].lstrip("\ufeff"))))
    assert releases[0] == ["When", "Phase", "What happened", "Agreement version", "Lawful bases", "By"]
    assert [r[1] for r in releases[1:]] == ["Delivery"]
    assert releases[1][3] == "Version 1" and releases[1][4].startswith("The Trust: A task in the public interest")
    assert "Pause: Legitimate interests" in releases[1][4] and "art6" not in releases[1][4]  # words, never codes
    assert releases[1][5] == f"Trust lead, {w.programme.trust.name}"  # by role until disclosed
    # her access log, not the other woman's
    log = list(csv.reader(io.StringIO(files[f"access-pack-{rr.reference}/access_log.csv"].lstrip("\ufeff"))))
    assert log[0] == ["When", "Who", "What they did", "Which record", "Phase", "Under her request"]
    # the Pause lead's view of her page is there (by role), the practitioner's of the other woman's is not
    lead = f"Pause lead, {w.delivery.programme.pause_practice.name}"
    assert [r[1:4] for r in log[1:] if r[1].startswith("Pause")] == [
        [lead, "Recorded", "Her Pause practitioner"], [lead, "Saw or received her records", "Her delivery release"]]
    assert [r for r in log[1:] if r[5] == rr.reference]  # the DPO's views under her request name it
    # third-party items: her children and every member of staff named, all withheld for now
    assert {i.kind for i in pack.items} == {"child", "staff"}
    assert len([i for i in pack.items if i.kind == "child"]) == Child.objects.filter(mother=first.woman).count()
    assert len(pack.pending) == len(pack.items)


def test_redaction_decisions_let_third_party_items_in_one_by_one(world):
    w = world
    first, second = w.delivery.released
    rr = w.request("access")
    _decide_all(w, rr, RedactionBasis.NO_CONSENT)
    pack = access_pack.build(rr, by=w.dpo, page="/t")
    everything = "\n".join(_texts(pack_zip(pack)[1]).values())
    assert not pack.pending
    assert not [d for d in _children_dobs(first.woman) if d in everything]
    child = pack.items[0]
    access_pack.decide_item(rr, item=child.ref, basis=RedactionBasis.CONSENTED, by=w.dpo)
    lead = next(i for i in pack.items if i.ref == f"sharing.person:{w.delivery.pause_lead.pk}")
    access_pack.decide_item(rr, item=lead.ref, basis=RedactionBasis.OFFICIAL_CAPACITY, by=w.dpo)
    everything = "\n".join(_texts(pack_zip(access_pack.build(rr, by=w.dpo, page="/t"))[1]).values())
    shown_child = Child.objects.get(pk=int(child.ref.split(":")[1]))
    assert _children_dobs(first.woman)[list(Child.objects.filter(mother=first.woman)).index(shown_child)] in everything
    assert w.delivery.pause_lead.full_name in everything
    assert w.delivery.practitioners[1].full_name not in everything  # not named in her pack at all
    assert not [v for v in [_as_read(i) for i in w.delivery.cohort.identifiers[8:16]] + _children_dobs(second.woman)
                if v in everything]
    assert RedactionDecision.objects.filter(request=rr).count() == len(pack.items)
    with pytest.raises(rights.RightsRefused, match="not an item"):
        access_pack.decide_item(rr, item=f"eligibility.child:{Child.objects.filter(mother=second.woman)[0].pk}",
                                basis=RedactionBasis.CONSENTED, by=w.dpo)
    with pytest.raises(rights.RightsRefused):
        access_pack.decide_item(rr, item=child.ref, basis=RedactionBasis.CONSENTED, by=w.caseworker)


def test_the_html_escapes_hostile_names_and_forbids_everything_but_its_own_style(world):
    w = world
    woman = w.delivery.released[0].woman
    woman.protect(Protector.load(w.programme.pk, Woman.key_phase), surname="<script>alert(1)</script>",
                  forename='"><img src=x onerror=alert(2)>')
    woman.save()
    rr = w.request("access")
    html = pack_html(access_pack.build(rr, by=w.dpo, page="/t"))
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    meta = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', html).group(1)
    policy = meta.replace("&#x27;", "'")
    assert policy == csp() and "default-src 'none'" in policy and "script-src 'none'" in policy
    assert f"<style>{PACK_CSS}</style>" in html  # exactly what the style hash allows


def test_csv_cells_cannot_start_a_formula(world):
    w = world
    woman = w.delivery.released[0].woman
    woman.protect(Protector.load(w.programme.pk, Woman.key_phase), forename='=HYPERLINK("http://x.invalid","a")')
    woman.save()
    rr = w.request("access")
    files = _texts(pack_zip(access_pack.build(rr, by=w.dpo, page="/t"))[1])
    details = files[f"access-pack-{rr.reference}/her_details.csv"]
    assert "'=HYPERLINK" in details and "\n=HYPERLINK" not in details and ",=HYPERLINK" not in details
    assert [safe_cell(v) for v in ("+1", "-1", "@x", "\tx", "ok")] == ["'+1", "'-1", "'@x", "'\tx", "ok"]


def test_the_download_waits_for_every_decision_and_is_recorded(world):
    w = world
    rr = w.request("access")
    with pytest.raises(rights.RightsRefused, match="Decide on every item"):
        access_pack.download(rr, by=w.dpo, page="/rights/1/pack/download/")
    _decide_all(w, rr)
    name, content = access_pack.download(rr, by=w.dpo, page="/rights/1/pack/download/")
    digest = hashlib.sha256(content).hexdigest()
    entry = AuditEntry.objects.filter(event=Event.DISCLOSURE, reason__contains="access pack downloaded").get()
    assert entry.reason == f"{rr.reference}: access pack downloaded (zip sha256 {digest})"
    assert entry.actor == w.dpo and list(entry.subjects.values_list("subject", flat=True)) == [
        f"eligibility.woman:{rr.woman_id}"]


def test_the_dpo_sees_her_records_only_under_an_open_requests_reference(world):
    w = world
    first, second = w.delivery.released
    woman = first.woman
    assert not disclose(w.dpo, [woman], page="/t").records
    rr = w.request("access")
    other = w.request("access", 1)
    assert not disclose(w.dpo, [woman], page="/t", reason="").records
    assert not disclose(w.dpo, [woman], page="/t", reason=other.reference).records  # another woman's request
    shown = disclose(w.dpo, [woman, second.woman, first, *Child.objects.filter(mother=woman)], page="/t",
                     reason=rr.reference)
    assert {(type(r), r.pk) for r in shown.records} == {(Woman, woman.pk), (type(first), first.pk)} | {
        (Child, c.pk) for c in Child.objects.filter(mother=woman)}
    assert shown.entry.reason == rr.reference
    rights.close(rr, status="completed", note="sent", by=w.dpo)
    assert not disclose(w.dpo, [woman], page="/t", reason=rr.reference).records
    with pytest.raises(rights.RightsRefused, match="only through an open request"):  # a stale copy of it
        access_pack.build(rr, by=w.dpo, page="/t")
    rr.refresh_from_db()
    with pytest.raises(rights.RightsRefused, match="not an open access request"):
        access_pack.build(rr, by=w.dpo, page="/t")
    for person in (w.caseworker, w.delivery.pause_lead, w.delivery.trust_lead):
        with pytest.raises(rights.RightsRefused):
            access_pack.build(other, by=person, page="/t")


def test_an_entry_about_another_woman_is_never_taken_for_hers(world):
    """An entry about the other woman, acting on a row whose id equals her record's id, is not
    hers: `record_event` names the target by its own model (it once stored the subjects' model
    with the target's id), and the pack matches the target by its reference."""
    from audit.core.log import record_event
    from audit.core.models_rights import Breach

    w = world
    first, second = w.delivery.released
    target = Breach.objects.create(pk=first.woman_id, programme=w.programme, reference="BR-2026-777",
                                   found_at=second.released_at, aware_at=second.released_at, risk="risk",
                                   recorded_by=w.dpo)
    entry = record_event(Event.CHANGE, actor=w.dpo, target=target, subject_ids=[second.woman_id],
                         subject_model=Woman, programme=w.programme, reason="about the other woman only")
    assert (entry.content_type.model, entry.object_id) == ("breach", first.woman_id)
    rr = w.request("access")
    log = next(s for s in access_pack.build(rr, by=w.dpo, page="/t").sections if s.key == "access_log")
    assert not [row for row in log.rows if "about the other woman only" in row]
