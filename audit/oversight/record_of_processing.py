"""The record of processing (UK GDPR Article 30; issue 23, point 1; ADR 43): one record per
controller of a programme, the Trust's or Pause's, generated whenever it is asked for, never
written by hand, so it cannot drift from what the portal does.

Every heading is read from the configuration:
- the confirmed data-sharing agreement in force (`sharing.scoping_term.current_agreement`): the
  parties, purposes, lawful bases in plain words (`sharing.lawful_bases`), the data items each
  phase shares (`sharing.data_items`), retention periods, UK-only processing, the appropriate
  policy document and the DPIA, with its register's review date and open high risks
  (`sharing.dpia_register`);
- the models' data classification (`pause_portal.classification`): the categories of personal
  data each controller holds, special category data named as such;
- the deployment's settings: encryption, two-step sign-in, lockout, sessions, the audit trail's
  sealing and retention, the scoping k.

It also holds the DPA 2018 Schedule 1 Part 4 paragraph 41 entries for the Article 9 condition each
controller relies on: the condition, how the processing meets Article 6, the appropriate policy
document, and whether the data is kept and erased in line with it (read from what the portal
itself applies). `record_files` writes it as CSV, HTML and PDF.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.apps import apps
from django.conf import settings
from django.utils import timezone

from audit.oversight.record_categories import Item, agreed, categories, subjects
from pause_portal import presenting
from pause_portal.refused import Refused
from pause_portal.tenancy.models import Membership, MembershipStatus, Phase, Programme
from pause_portal.tenancy.roles import Role
from pseudonymisation.fields import BlindIndexField, EncryptedField
from sharing import dpia_register
from sharing import lawful_bases as bases
from sharing.agreements import RETENTION_STORES
from sharing.models_notices import Controller
from sharing.models_scoping import Agreement
from sharing.privacy_notices import notice_in_force
from sharing.retention import RetentionScheduleError, parse_period, schedule_for
from sharing.scoping_term import current_agreement

CONTROLLERS = tuple(bases.CONTROLLERS)  # ("trust", "pause"); the Trust's record by default
FORMATS = ("json", "csv", "html")

# Each heading's key (the JSON's) and its title in plain words, in the order the record shows them.
HEADINGS: dict[str, str] = {
    "controllers": "Controllers",
    "dpo": "Data protection officer",
    "purposes": "Purposes of the processing",
    "data_subject_categories": "Categories of people the data is about",
    "personal_data_categories": "Categories of personal data",
    "recipients": "Recipients",
    "transfers": "Transfers outside the UK",
    "retention": "Retention periods",
    "security_measures": "Security measures",
    "lawful_bases": "Lawful bases",
    "schedule_1_conditions": "Special category conditions (DPA 2018 Schedule 1 Part 4 paragraph 41)",
    "agreement_version": "Data-sharing agreement version",
    "generated_at": "Generated",
}

# The agreement's retention stores each controller's record names.
STORES_OF = {
    "trust": ("trust_records", "untouched_women", "not_eligible_women", "final_report", "do_not_approach",
              "audit_trail"),
    "pause": ("scoping_data", "final_report", "delivery_records", "do_not_approach", "audit_trail"),
}
# How the portal itself applies a store's period; a store not here is kept for its period by the
# controller's own erasure, not by the portal.
APPLIED_BY_THE_PORTAL = {
    "scoping_data": "deleted by the portal when scoping ends, with a deletion certificate",
    "delivery_records": "applied by the portal's daily retention run",
    "do_not_approach": "each marker deleted by the portal's daily retention run on its own date",
    "untouched_women": "applied by the portal's daily run over the Trust's copy, with a purge certificate",
    "not_eligible_women": ("applied by the portal's daily run over the Trust's copy, keeping only a minimal "
                           "decision record, with a purge certificate"),
    "trust_records": "kept for this period; all of it deleted by the portal when the programme closes, with a "
                     "purge certificate",
    "audit_trail": "purged by the portal after {days} days (its audit retention setting)",
}


class RecordRefused(Refused):
    """No record can be made (no such controller, no confirmed agreement); nothing was written."""


@dataclass(frozen=True)
class ConditionEntry:
    """One DPA 2018 Schedule 1 Part 4 paragraph 41 entry."""

    condition: str
    article_6: str
    policy_document: str
    retained_and_erased: str


@dataclass
class Record:
    programme: Programme
    controller: str
    agreement: Agreement
    generated_at: datetime
    sections: dict[str, list[Item]] = field(default_factory=dict)
    conditions: list[ConditionEntry] = field(default_factory=list)

    @property
    def whose(self) -> str:
        return bases.CONTROLLERS[self.controller]

    @property
    def title(self) -> str:
        return f"Record of processing: {self.whose} ({self.programme.name})"

    def as_json(self) -> dict:
        out: dict = {"programme": self.programme.name, "controller": self.controller}
        for key in HEADINGS:
            if key == "agreement_version":
                out[key] = self.agreement.version
            elif key == "generated_at":
                out[key] = self.generated_at.isoformat()
            elif key == "schedule_1_conditions":
                out[key] = [vars(c) for c in self.conditions]
            else:
                out[key] = [{"item": i.label, "detail": i.detail} for i in self.sections[key]]
        return out

    def rows(self) -> list[tuple[str, str, str]]:
        """(heading, item, detail): one row a heading's item, in plain words (the CSV, HTML and PDF)."""
        out = []
        for key, title in HEADINGS.items():
            if key == "agreement_version":
                out.append((title, f"Version {self.agreement.version}", self._agreement_detail()))
            elif key == "generated_at":
                out.append((title, presenting.exact_moment(self.generated_at), ""))
            elif key == "schedule_1_conditions":
                out += [(title, c.condition, f"How it meets Article 6: {c.article_6}. Appropriate policy document: "
                                             f"{c.policy_document}. Kept and erased in line with it: "
                                             f"{c.retained_and_erased}") for c in self.conditions]
            else:
                out += [(title, i.label, i.detail) for i in self.sections[key]]
        return out

    def _agreement_detail(self) -> str:
        a = self.agreement
        return (f"Confirmed {presenting.moment(a.decided_at)}"
                + (f" by {a.decided_by.full_name}" if a.decided_by_id else ""))


def record_of_processing(programme: Programme, controller: str = "trust", *, at: datetime | None = None) -> Record:
    """The controller's record for the programme, from the agreement in force now. Raises
    RecordRefused for an unknown controller or a programme with no confirmed agreement."""
    if controller not in CONTROLLERS:
        raise RecordRefused(f"There is no controller \u201c{controller}\u201d: choose {' or '.join(CONTROLLERS)} "
                            "(the Trust's record or Pause's)")
    agreement = current_agreement(programme)
    if agreement is None:
        raise RecordRefused(f"{programme.name} has no confirmed data-sharing agreement, and the record of "
                            "processing is made from it: a Trust lead proposes one and the Caldicott Guardian "
                            "confirms it first")
    record = Record(programme, controller, agreement, at or timezone.now())
    record.sections = {
        "controllers": _controllers(programme, controller, agreement),
        "dpo": _dpo(programme, controller, agreement),
        "purposes": [Item("As the agreement states them", agreement.purposes),
                     Item("The programme's phase now", Phase(programme.phase).label)],
        "data_subject_categories": subjects(programme, controller, agreement),
        "personal_data_categories": categories(controller, agreement),
        "recipients": _recipients(programme, controller, agreement),
        "transfers": _transfers(agreement),
        "retention": _retention(controller, agreement),
        "security_measures": _security(agreement),
        "lawful_bases": _bases(programme, controller, agreement),
    }
    record.conditions = _conditions(programme, controller, agreement)
    return record


# --- the headings ------------------------------------------------------------------------------
def _controllers(programme: Programme, controller: str, agreement: Agreement) -> list[Item]:
    own, other = ((programme.trust, programme.pause_practice) if controller == "trust"
                  else (programme.pause_practice, programme.trust))
    return [Item(own.name, "Controller: this is its record"),
            Item(other.name, "Controller of its own processing, in a record of its own"),
            Item("The parties as the agreement names them", agreement.parties)]


def _dpo(programme: Programme, controller: str, agreement=None) -> list[Item]:
    if controller == "trust":
        dpos = (Membership.objects.filter(programme=programme, role=Role.DPO, status=MembershipStatus.ACTIVE)
                .select_related("person").order_by("person__full_name", "pk"))
        items = [Item(m.person.full_name, m.person.email) for m in dpos]
        return items or [Item("Not recorded", "Nobody holds the data protection officer's role in the programme: "
                                              "grant it, and it is named here")]
    # The agreement names Pause's DPO's address when the parties gave it (ADR 49): breach reports
    # and their 72-hour reminders go there.
    address = agreement.pause_dpo_email if agreement is not None else ""
    if address:
        return [Item("Pause's data protection officer, as the agreement names them", address)]
    notice = notice_in_force(programme, Controller.PAUSE)
    if notice is None:
        return [Item("Not recorded", "Pause's data protection officer is not a role in the portal, and Pause has "
                                     "no privacy notice in force to name them: publish one")]
    return [Item("As Pause's privacy notice names them", f"{notice.label} (Pause's data protection officer is not "
                                                         "a role in the portal)")]


def _recipients(programme: Programme, controller: str, agreement: Agreement) -> list[Item]:
    if controller == "trust":
        shared = "; ".join(f"{Phase(p).label}: {len(agreed(agreement, p))} data items of the agreement"
                           for p in (Phase.SCOPING, Phase.DELIVERY))
        return [Item(programme.pause_practice.name, f"Pause receives what the agreement lets each phase share ({shared})"),
                Item("The Trust's own staff in the portal", "each role sees only what its permissions allow")]
    return [Item(programme.trust.name, "The Trust receives Pause's safeguarding concerns, quarterly progress reports "
                                       "and the final scoping report"),
            Item("Pause's own staff in the portal", "each practitioner sees only the women assigned to them")]


def _transfers(agreement: Agreement) -> list[Item]:
    if agreement.uk_only_processing:
        return [Item("None", f"The agreement (version {agreement.version}) says all processing is in the UK only")]
    return [Item("Not restricted to the UK", f"The agreement (version {agreement.version}) does not say processing "
                                             "is in the UK only: name any transfer and its safeguard in its next version")]


def _retention(controller: str, agreement: Agreement) -> list[Item]:
    periods = agreement.retention or {}
    items = []
    for store in STORES_OF[controller]:
        period = str(periods.get(store) or "").strip() or "Not recorded in the agreement"
        how = APPLIED_BY_THE_PORTAL.get(store, "kept for this period; erased by the controller, not the portal")
        items.append(Item(RETENTION_STORES[store], f"{period}: {how.format(days=settings.PORTAL_AUDIT_RETENTION_DAYS)}"))
    return items


def _security(agreement: Agreement) -> list[Item]:
    encrypted = blind = 0
    for model in apps.get_models():
        for f in model._meta.concrete_fields:
            encrypted += isinstance(f, EncryptedField)
            blind += isinstance(f, BlindIndexField)
    two_step = "django_otp.middleware.OTPMiddleware" in settings.MIDDLEWARE
    items = [
        Item("Encryption at rest", f"{encrypted} fields of direct identifiers are encrypted under per-programme data "
                                   "keys, wrapped by master secrets and by each key scope's own secret in a key "
                                   "store; neither enters the database"),
        Item("Searching without decrypting", f"{blind} keyed blind indexes: identifiers are searched only through them"),
        Item("Two-step sign-in" if two_step else "Sign-in",
             "every page but sign-in needs a password and then a single-use 6-digit code from an authenticator app"
             if two_step else "a password"),
        Item("Lockout", f"an account or address is locked out after {settings.AXES_FAILURE_LIMIT} failed sign-ins, for "
                        f"{_hours(settings.AXES_COOLOFF_TIME.total_seconds())}"),
        Item("Sessions", f"end after {settings.PORTAL_SESSION_IDLE_SECONDS // 60} idle minutes or "
                         f"{_hours(settings.PORTAL_SESSION_ABSOLUTE_SECONDS)}, and at once on sign-out"),
        Item("Audit trail", "every disclosure and change is written to an append-only trail, sealed into a hash "
                            "chain and checkpointed outside the database; "
                            f"kept {settings.PORTAL_AUDIT_RETENTION_DAYS} days"),
        Item("Scoping release", f"every combination served beside a token is shared by at least "
                                f"{settings.PORTAL_SCOPING_K} women, and every table cell is 0 or at least that many"),
        Item("Roles", "one role per programme; lead, DPO and Caldicott Guardian grants need a second person"),
    ]
    if agreement.dpia_reference:
        signed = (f", signed off by {agreement.dpia_signed_off_by} on {presenting.day(agreement.dpia_signed_off_on)}"
                  if agreement.dpia_signed_off_by else ", not yet signed off")
        items.append(Item("Data protection impact assessment", f"{agreement.dpia_reference}{signed}"))
    items.append(_dpia_review(agreement.programme))
    return items


def _dpia_review(programme: Programme) -> Item:
    """The DPIA register's review date and its open high risks (ADR 48)."""
    review = dpia_register.latest_review(programme)
    high = dpia_register.open_high_risks(programme)
    risks = f"{high} open high {'risk' if high == 1 else 'risks'} in its register"
    if review is None:
        return Item("DPIA review", f"No review of the DPIA is recorded, so nothing is released; {risks}")
    return Item("DPIA review", f"last reviewed on {presenting.day(review.reviewed_on)}, next review due on "
                               f"{presenting.day(review.next_review_on)} (no release after that date without a "
                               f"new review); {risks}")


def _bases(programme: Programme, controller: str, agreement: Agreement) -> list[Item]:
    mine = bases.normalised(agreement.lawful_bases).get(controller)
    if not mine:
        return [Item("Not recorded", f"The agreement (version {agreement.version}) records no lawful basis for "
                                     f"{presenting.in_sentence(bases.CONTROLLERS[controller])}")]
    items = [Item("Article 6", bases.label("article_6", mine["article_6"])),
             Item("Article 9", bases.label("article_9", mine["article_9"]))]
    if mine["power"]:
        items.append(Item("The law that sets out the task", bases.label("power", mine["power"])))
    return items


def _conditions(programme: Programme, controller: str, agreement: Agreement) -> list[ConditionEntry]:
    mine = bases.normalised(agreement.lawful_bases).get(controller) or {}
    code = bases.LEGACY_ARTICLE_9.get(mine.get("article_9", ""), mine.get("article_9", ""))
    condition = bases.ARTICLE_9.get(code)
    article_6 = bases.label("article_6", mine.get("article_6", ""))
    if condition is None:
        return [ConditionEntry("Not recorded", article_6, "Not recorded",
                               "Not known: the agreement records no Article 9 condition")]
    if not condition.needs_policy_document:
        return [ConditionEntry(condition.label, article_6, "Not needed: this condition needs no appropriate "
                               "policy document", _kept_in_line(programme, controller, agreement))]
    return [ConditionEntry(condition.label, article_6,
                           agreement.policy_document_reference or "Not recorded: the agreement must name it",
                           _kept_in_line(programme, controller, agreement))]


def _kept_in_line(programme: Programme, controller: str, agreement: Agreement) -> str:
    """Whether the periods are applied as the agreement (and so the policy document) says."""
    periods = agreement.retention or {}
    problems = []
    for store in STORES_OF[controller]:
        if store in ("do_not_approach", "delivery_records", "untouched_women", "not_eligible_women") \
                and str(periods.get(store) or "").strip():
            try:
                parse_period(str(periods[store]))
            except ValueError as exc:
                problems.append(f"{RETENTION_STORES[store]}: {exc}")
    if controller == "pause":
        try:
            schedule_for(programme)
        except RetentionScheduleError as exc:
            problems += exc.problems
    if problems:
        return "No: the portal cannot apply these periods, and deletes nothing until the agreement is corrected: " \
               + "; ".join(problems)
    by_portal = [_in_words(s) for s in STORES_OF[controller] if s in APPLIED_BY_THE_PORTAL]
    by_controller = [_in_words(s) for s in STORES_OF[controller] if s not in APPLIED_BY_THE_PORTAL]
    answer = f"Yes: the portal itself applies the agreement's periods to {_and(by_portal)}"
    if by_controller:
        answer += (f"; {presenting.in_sentence(bases.CONTROLLERS[controller])} erases {_and(by_controller)} under "
                   "the policy document at the end of the agreement's period")
    return answer


def _in_words(store: str) -> str:
    return presenting.in_sentence(RETENTION_STORES[store])


def _and(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


# --- helpers -----------------------------------------------------------------------------------
def _hours(seconds: float) -> str:
    hours = int(seconds // 3600)
    return "an hour" if hours == 1 else f"{hours} hours"

