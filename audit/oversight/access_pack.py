"""The subject access pack (issue 9, point 2; UK GDPR Art. 15): everything the portal holds about
one woman, decrypted and readable; what was released to Pause, when, in which phase and under
which basis; and the access log about her.

Every record comes through the disclosure policy (`eligibility.disclosure.disclose`), which lets the
DPO see a woman's records only while an open request about her exists and writes the audit entry
with the request's reference as its reason. Third-party data — each of her children, each member
of staff named — is an item the DPO decides on (`decide_item`): until disclosed, a child is only
"Child 1" and a member of staff only their role and organisation. The pack carries nothing of
anyone else: another woman's records are never gathered.

Issue 23, point 5 (ADR 44): the first section is the rest of what Art. 15 says she must be told
(`audit.oversight.pack_information`); passages of free text show the words the DPO withheld as
"[withheld: <exemption>]" (`audit.oversight.pack_spans`); the history reads in plain words
(`audit.oversight.pack_plain`), never a code, a record reference or a page address.

`audit.oversight.access_pack_files` turns a pack into the zip she is given (an HTML document and CSV files);
`download` builds it, once every item has a decision, and records the download.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime

from django.db import models, transaction
from django.utils import timezone

from audit.core.log import record_event
from audit.core.models import Event
from audit.core.models_rights import (
    DISCLOSING_BASES,
    Redaction,
    RedactionBasis,
    RedactionDecision,
    RequestKind,
    RightsRequest,
)
from audit.oversight import pack_plain as plain
from audit.oversight import pack_spans
from audit.oversight.access_pack_contents import Item, Pack, Section
from audit.oversight.access_pack_files import pack_zip
from audit.oversight.pack_information import information_section
from audit.oversight.pack_sources import access_log_entries, release_events
from audit.oversight.rights import RightsRefused, _locked, dpo_membership
from eligibility.disclosure import disclose, record_disclosure
from eligibility.extract import codes
from eligibility.models import Child, Correction, Decision, Evaluation, Restriction, Woman
from pause_portal import presenting
from pause_portal.tenancy.models import Membership, Person
from pause_portal.tenancy.roles import Role
from sharing import lawful_bases as bases
from sharing.models_delivery import (
    CaseloadAssignment,
    ContactAttempt,
    ReleasedChild,
    ReleasedWoman,
    SafeguardingConcern,
)
from sharing.models_scoping import ScopingWomanRow

CHILD, STAFF = "child", "staff"
Read = Callable[[models.Model, str], object]  # a served value of a record the pack shows


def text(value) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, datetime):
        return presenting.moment(value)
    if isinstance(value, date):
        return presenting.day(value)
    return str(value)


class _Staff:
    """The members of staff a pack names, each an item labelled by role until disclosed."""

    def __init__(self, programme_id: int, decisions: dict[str, RedactionDecision]):
        self.programme_id, self.decisions, self.items = programme_id, decisions, {}

    def __call__(self, person_id: int | None, *, role: str = "") -> str:
        if person_id is None:
            return "The portal (automatic)"
        ref = f"sharing.person:{person_id}"
        if ref not in self.items:
            person = Person.objects.select_related("organisation").get(pk=person_id)
            membership = (Membership.objects.filter(person_id=person_id, programme_id=self.programme_id)
                          .order_by("-pk").first())
            role_label = Role(role or membership.role).label if (role or membership) else "Member of staff"
            place = f"{role_label}, {person.organisation.name}"
            self.items[ref] = Item(ref=ref, kind=STAFF, label=place, disclosed_label=f"{person.full_name} ({place})",
                                   decision=self.decisions.get(ref), detail=f"{person.full_name} ({place})")
        return self.items[ref].shown_as()


def build(request: RightsRequest, *, by: Person, page: str) -> Pack:
    """The pack for an open access request, as the DPO sees it now (one disclosure entry)."""
    membership = dpo_membership(by, request.programme_id)
    if request.kind != RequestKind.ACCESS or not request.is_open:
        raise RightsRefused(f"Request {request.reference} is not an open access request.")
    woman = Woman.objects.select_related("first_extract", "last_extract").get(pk=request.woman_id)
    children = list(Child.objects.filter(mother=woman).order_by("pk"))
    released = ReleasedWoman.objects.filter(woman=woman).first()
    on_release = []
    if released is not None:
        on_release = [released, *ReleasedChild.objects.filter(released_woman=released),
                      *ContactAttempt.objects.filter(released_woman=released),
                      *SafeguardingConcern.objects.filter(released_woman=released),
                      *CaseloadAssignment.objects.filter(released_woman=released)]
    records = [woman, *children, *Correction.objects.filter(woman=woman), *Decision.objects.filter(woman=woman),
               *Restriction.objects.filter(woman=woman), *ScopingWomanRow.objects.filter(woman=woman), *on_release]
    shown = disclose(by, records, page=page, reason=request.reference)
    seen = {(type(r), r.pk) for r in shown.records}
    if (Woman, woman.pk) not in seen:
        raise RightsRefused("Her records are shown only through an open request about her.")

    def kept(items: Iterable) -> list:
        return [r for r in items if (type(r), r.pk) in seen]

    decisions = {d.item: d for d in RedactionDecision.objects.filter(request=request)}
    staff = _Staff(request.programme_id, decisions)
    served = {(type(r), r.pk): s for r, s in shown.pairs()}

    def read(record, name: str):
        """A value as the disclosure policy served it (decrypted there, not here)."""
        return served[type(record), record.pk][name]

    spans, passages = pack_spans.spans_of(request), []

    def free(record, name: str) -> str:
        """A passage of free text as her pack shows it: the spans the DPO withheld replaced."""
        value = text(read(record, name))
        if not value:
            return ""
        when = next((getattr(record, f) for f in pack_spans.WHEN if getattr(record, f, None)), None)
        ref = pack_spans.passage_ref(record, name)
        passage = pack_spans.Passage(ref=ref, where=f"{pack_spans.PASSAGES[record._meta.label_lower, name]}, "
                                                    f"{text(when)}", text=value, spans=spans.get(ref, []))
        passages.append(passage)
        return passage.shown

    sections = [information_section(membership.programme, woman), _about_her(woman, read),
                _corrections(kept(records), read, free, staff), _rules(woman),
                _decisions(kept(records), free, staff), _restrictions(kept(records), staff),
                _releases(woman, released, staff), *_delivery(released if released and (ReleasedWoman, released.pk)
                                                              in seen else None, kept(on_release), staff, read, free),
                _scoping_row(kept(records))]
    child_items = [Item(ref=f"eligibility.child:{c.pk}", kind=CHILD, label=f"Child {n}",
                        disclosed_label=f"Child {n}", decision=decisions.get(f"eligibility.child:{c.pk}"),
                        detail=f"Her child born in {c.birth_year or 'a year not known'}")
                   for n, c in enumerate(kept(children), start=1)]
    sections.append(_children(kept(children), child_items, kept(on_release), read))
    sections.append(_access_log(woman, staff))
    sections.append(_requests(woman))
    items = child_items + list(staff.items.values())
    sections.append(Section("withheld", "Information about other people", ["Item", "Decision"],
                            [[i.label, _decision_text(i)] for i in items],
                            note="Information about other people (her children, members of staff) is given only "
                                 "where the data protection officer decided it can be."))
    programme = membership.programme
    return Pack(request=request, programme_name=programme.name, controller=programme.trust.name,
                generated_at=timezone.now(), sections=sections, items=items, passages=passages)


def _decision_text(item: Item) -> str:
    if item.decision is None:
        return "Awaiting a decision: withheld"
    return f"{item.decision.get_decision_display()}: {item.decision.get_basis_display()}"


# --- the sections --------------------------------------------------------------------------------
def _about_her(woman: Woman, read: Read) -> Section:
    def plain(name):
        return read(woman, name)

    ethnicity = woman.ethnicity and codes.ETHNICITY.get(woman.ethnicity, "A group not on the current list")
    rows = [["Trust person id", plain("trust_person_id")], ["Forename", plain("forename")],
            ["Surname", plain("surname")], ["Date of birth", presenting.as_date(plain("date_of_birth"))],
            ["NHS number", plain("nhs_number")], ["Postcode", plain("postcode")], ["Ethnic group", ethnicity],
            ["Expected child due", woman.expected_child_due], ["Date of death", woman.died_on],
            ["In the latest extract", woman.in_latest_extract],
            ["First received from the Trust", woman.first_extract.uploaded_at],
            ["Last received from the Trust", woman.last_extract.uploaded_at]]
    return Section("her_details", "Her details", ["Item", "Value"], [[k, text(v)] for k, v in rows])


def _corrections(records: list, read: Read, free: Read, staff: _Staff) -> Section:
    rows = [[text(c.recorded_at), c.field.replace("_", " "), text(read(c, "previous_value")),
             text(read(c, "corrected_value")), free(c, "reason"),
             staff(c.recorded_by_id), text(c.active)]
            for c in records if isinstance(c, Correction)]
    return Section("corrections", "Corrections of her record",
                   ["When", "Field", "Previous value", "Corrected value", "Reason", "Corrected by", "Current"], rows)


def _rules(woman: Woman) -> Section:
    rows = [[text(e.run.run_at), text(e.run.reference_date), str(e.run.rule_set.version), e.get_proposal_display(),
             e.explanation, str(e.children_removed), str(e.children_for_review)]
            for e in Evaluation.objects.filter(woman=woman).select_related("run", "run__rule_set").order_by("run_id")]
    return Section("rules", "What the eligibility rules proposed",
                   ["When", "Reference date", "Rule set version", "Proposal", "Explanation", "Children removed",
                    "Children for review"], rows,
                   note="The rules only propose: a named person decides (see the decisions).")


def _decisions(records: list, free: Read, staff: _Staff) -> Section:
    rows = [[text(d.decided_at), d.get_outcome_display(), d.get_proposal_display(), str(d.rule_set.version),
             free(d, "reason"), staff(d.decided_by_id)]
            for d in sorted((r for r in records if isinstance(r, Decision)), key=lambda d: d.pk)]
    return Section("decisions", "Decisions about her",
                   ["When", "Decision", "The rules proposed", "Rule set version", "Reason", "Decided by"], rows)


def _restrictions(records: list, staff: _Staff) -> Section:
    rows = [[text(r.started_at), text(r.ended_at) or "Still in place", r.get_reason_display(),
             staff(r.recorded_by_id)] for r in records if isinstance(r, Restriction)]
    return Section("restrictions", "Restrictions of her records", ["From", "To", "Why", "Recorded by"], rows)


def _releases(woman: Woman, released: ReleasedWoman | None, staff: _Staff) -> Section:
    rows = [[text(e.when), plain.phase(e.phase), e.what, e.agreement, e.bases, staff(e.actor_id, role=e.role)]
            for e in release_events(woman, released)]
    return Section("releases", "What was released to Pause",
                   ["When", "Phase", "What happened", "Agreement version", "Lawful bases", "By"], rows)


def _delivery(released: ReleasedWoman | None, records: list, staff: _Staff, read: Read,
              free: Read) -> list[Section]:
    details = Section("delivery", "Her delivery release (what Pause sees)", ["Item", "Value"])
    contacts = Section("contact", "Contact with her", ["Date", "How", "Outcome", "Privacy information given",
                                                       "Note", "Recorded by"])
    concerns = Section("concerns", "Safeguarding concerns and serious incidents",
                       ["Raised", "Kind", "Lawful bases", "Summary", "Status", "Closed", "Closing note", "Raised by"])
    caseload = Section("caseload", "Her Pause practitioner", ["From", "To", "Practitioner"])
    if released is None:
        return [details, contacts, concerns, caseload]
    details.rows = [[k, text(v)] for k, v in [
        ("Released", released.released_at), ("Address given to Pause", read(released, "address")),
        ("Trust contact", staff(released.trust_contact_id)), ("Participation", released.get_participation_display()),
        ("Participation ended", released.participation_ended_at),
        ("Privacy information given", released.privacy_information_given_at),
        ("Place in the target group", released.target_position), ("Why there", free(released, "target_reason")),
        ("Release withdrawn", released.withdrawn_at)]]
    for r in records:
        if isinstance(r, ContactAttempt):
            contacts.rows.append([text(r.contacted_on), r.get_method_display(), r.get_outcome_display(),
                                  text(r.privacy_information_given), free(r, "note"),
                                  staff(r.recorded_by_id)])
        elif isinstance(r, SafeguardingConcern):
            concerns.rows.append([text(r.raised_at), r.get_kind_display(), bases.in_words(r.lawful_bases),
                                  free(r, "summary"), r.get_status_display(), text(r.closed_at),
                                  free(r, "closing_note"), staff(r.raised_by_id)])
        elif isinstance(r, CaseloadAssignment):
            caseload.rows.append([text(r.assigned_at), text(r.ended_at) or "Now", staff(r.practitioner_id)])
    return [details, contacts, concerns, caseload]


def _scoping_row(records: list) -> Section:
    rows = [[r.token, r.age_band, r.ethnic_group, r.children_removed, r.removal_years, r.outcome_types,
             "Withheld from Pause" if r.withheld else "Served to Pause"]
            for r in records if isinstance(r, ScopingWomanRow)]
    return Section("scoping", "Her row in the scoping release (pseudonymised)",
                   ["Token", "Age band", "Ethnic group", "Children removed", "Removal years", "Outcomes", "Served"],
                   rows)


def _children(children: list[Child], items: list[Item], on_release: list, read: Read) -> Section:
    tokens = {r.child_id: r.token for r in on_release if isinstance(r, ReleasedChild)}
    rows = []
    for child, item in zip(children, items, strict=True):
        if not item.disclosed:
            rows.append([item.label, "Withheld: information about another person", "", "", "", "", "", ""])
            continue
        rows.append([item.label, "Disclosed", text(presenting.as_date(read(child, "date_of_birth"))),
                     text(child.birth_year), plain.sex(child.sex), plain.legal_statuses(child),
                     plain.care_episodes(child), tokens.get(child.pk, "")])
    return Section("children", "Her children", ["Child", "Shown", "Date of birth", "Year of birth", "Sex",
                                                "Legal statuses", "Care episodes", "Delivery token"], rows)


def _access_log(woman: Woman, staff: _Staff) -> Section:
    references = list(RightsRequest.objects.filter(woman=woman).values_list("reference", flat=True))
    rows = [[text(e.timestamp), staff(e.actor_id, role=e.role), plain.what_was_done(e), plain.which_record(e),
             plain.phase(e.phase), plain.under_request(e, references)]
            for e in access_log_entries(woman)]
    return Section("access_log", "Who saw or changed her records",
                   ["When", "Who", "What they did", "Which record", "Phase", "Under her request"], rows)


def _requests(woman: Woman) -> Section:
    rows = [[r.reference, r.get_kind_display(), text(r.received_on), text(r.due_on), r.get_status_display()]
            for r in RightsRequest.objects.filter(woman=woman).order_by("received_on", "pk")]
    return Section("requests", "Her requests to the data protection officer",
                   ["Reference", "Request", "Received", "Due", "Status"], rows)


# --- the DPO's decisions and the download --------------------------------------------------------
def decide_item(request: RightsRequest, *, item: str, basis: RedactionBasis | str, by: Person) -> RedactionDecision:
    """Record (or change) the decision on one third-party item of the pack."""
    membership = dpo_membership(by, request.programme_id)
    try:
        basis = RedactionBasis(basis)
    except ValueError:
        raise RightsRefused("Choose whether to disclose or withhold it, and why.") from None
    decision = Redaction.DISCLOSE if basis in DISCLOSING_BASES else Redaction.WITHHOLD
    if not _is_item_of(request, item):
        raise RightsRefused("That is not an item of her pack.")
    with transaction.atomic():
        locked = _locked(request)
        row, _ = RedactionDecision.objects.update_or_create(
            request=locked, item=item,
            defaults={"decision": decision, "basis": basis, "decided_by": by, "decided_at": timezone.now()})
        record_event(Event.CHANGE, actor=by, target=row, programme=membership.programme, role=membership.role,
                     action=1, reason=f"rights request {locked.reference}: {item} {decision.label.lower()}")
    return row


def _is_item_of(request: RightsRequest, item: str) -> bool:
    kind, _, pk = (item or "").partition(":")
    if not pk.isdigit():
        return False
    if kind == "eligibility.child":
        return Child.objects.filter(pk=int(pk), mother_id=request.woman_id).exists()
    return kind == "sharing.person" and Person.objects.filter(pk=int(pk)).exists()


def download(request: RightsRequest, *, by: Person, page: str) -> tuple[str, bytes]:
    """The pack as a zip (filename, bytes), once every third-party item has a decision; recorded."""
    membership = dpo_membership(by, request.programme_id)
    with transaction.atomic():
        pack = build(request, by=by, page=page)
        if pack.pending:
            raise RightsRefused(f"Decide on every item about other people first ({len(pack.pending)} awaiting).")
        name, content, digest = pack_zip(pack)
        record_disclosure(by, membership=membership, target=request, subject_ids=[request.woman_id],
                          subject_model=Woman, page=page,
                          reason=f"{request.reference}: access pack downloaded (zip sha256 {digest})")
    return name, content
