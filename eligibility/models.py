"""Imported records: extracts (import runs), women, their children, legal statuses and care
episodes. Direct identifiers are encrypted at rest (pseudonymisation.ProtectedModel) and found
through blind indexes; the data classification of each model says which fields are which.

Writes go through `eligibility.importing` (the import pipeline), and rectifications and erasure
tombstones through `eligibility.corrections`; nothing here saves on anyone's behalf.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from pause_portal.append_only import AppendOnlyModel, Refusals
from pause_portal.classification import DataClass as D
from pseudonymisation.blind_index import IndexKind
from pseudonymisation.fields import BlindIndexField, EncryptedField, ProtectedModel


class ExtractStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    RUNNING = "running", "Importing"
    CHECKED = "checked", "Checked: waiting for confirmation"
    SUCCEEDED = "succeeded", "Imported"
    REFUSED = "refused", "Refused"
    FAILED = "failed", "Failed"
    EXPIRED = "expired", "Not confirmed in time"
    CANCELLED = "cancelled", "Not imported: cancelled"


class ExtractFormat(models.TextChoices):
    SSD = "ssd", "Standard Safeguarding Dataset tables"
    FLAT = "flat", "Flat template"


class ColumnMapping(models.Model):
    """A Trust's own column names for the portal's: our column -> their header."""

    programme = models.ForeignKey("sharing.Programme", on_delete=models.PROTECT, related_name="column_mappings")
    name = models.CharField(max_length=100)
    columns = models.JSONField(default=dict)
    created_by = models.ForeignKey("sharing.Person", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    data_classification = {
        "id": D.SAFE,
        "programme": D.SAFE,
        "name": D.SAFE,
        "columns": D.SAFE,
        "created_by": D.SAFE,
        "created_at": D.SAFE,
    }

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["programme", "name"], name="column_mapping_name_once")]

    def __str__(self) -> str:
        return self.name


class ImportStage(models.TextChoices):
    QUEUED = "queued", "Waiting to start"
    CHECKING = "checking", "Checking the files"
    SAVING = "saving", "Saving the records"
    DONE = "done", "Finished"


class Extract(models.Model):
    """One upload and its import: its SHA-256, size, summary and report stay after the import.
    The upload itself is kept encrypted (eligibility.uploads) only until the import succeeds or is
    refused."""

    programme = models.ForeignKey("sharing.Programme", on_delete=models.PROTECT, related_name="extracts")
    uploaded_by = models.ForeignKey("sharing.Person", on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)
    file_names = models.JSONField(default=list)
    sha256 = models.CharField(max_length=64)
    size_bytes = models.PositiveBigIntegerField()
    format = models.CharField(max_length=10, choices=ExtractFormat.choices, blank=True)
    status = models.CharField(max_length=10, choices=ExtractStatus.choices, default=ExtractStatus.RECEIVED)
    stage = models.CharField(max_length=10, choices=ImportStage.choices, default=ImportStage.QUEUED)
    progress_done = models.PositiveBigIntegerField(default=0)
    progress_total = models.PositiveBigIntegerField(default=0)
    column_mapping = models.ForeignKey(ColumnMapping, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    upload_id = models.CharField(max_length=32, blank=True)  # the encrypted upload's folder, while kept
    stored_files = models.JSONField(default=list)  # names of the kept (encrypted) files, in order
    failure = models.CharField(max_length=200, blank=True)
    summary = models.JSONField(default=dict)
    problems = models.JSONField(default=list)  # errors and warnings: file, row, column, message
    finished_at = models.DateTimeField(null=True, blank=True)
    # The check rehearses the import and shows what it would change; the import itself waits for
    # a caseworker's confirmation (eligibility.import_confirmation).
    checked_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)  # set: the next run writes
    checked_again = models.CharField(max_length=200, blank=True)  # why the upload was checked again

    data_classification = {
        "id": D.SAFE,
        "programme": D.SAFE,
        "uploaded_by": D.SAFE,
        "uploaded_at": D.SAFE,
        "file_names": D.SAFE,
        "sha256": D.SAFE,
        "size_bytes": D.SAFE,
        "format": D.SAFE,
        "status": D.SAFE,
        "stage": D.SAFE,
        "progress_done": D.SAFE,
        "progress_total": D.SAFE,
        "column_mapping": D.SAFE,
        "upload_id": D.SAFE,
        "stored_files": D.SAFE,
        "failure": D.SAFE,
        "summary": D.SAFE,  # counts only
        "problems": D.SAFE,  # locations and messages; never a value from the file
        "finished_at": D.SAFE,
        "checked_at": D.SAFE,
        "confirmed_at": D.SAFE,
        "checked_again": D.SAFE,
    }

    class Meta:
        ordering = ["-uploaded_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["programme", "sha256"],
                condition=Q(status="succeeded"),
                name="extract_imported_once_per_programme",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["received", "running", "checked"]) | Q(finished_at__isnull=False),
                name="extract_finished_is_dated",
            ),
        ]

    def __str__(self) -> str:
        return f"extract #{self.pk} ({self.status})"


class Woman(ProtectedModel):
    """A woman in the Trust's extracts with at least one counted or review event for a child."""

    programme = models.ForeignKey("sharing.Programme", on_delete=models.PROTECT, related_name="women")
    trust_person_id = EncryptedField()
    forename = EncryptedField()
    surname = EncryptedField()
    date_of_birth = EncryptedField()
    nhs_number = EncryptedField()
    postcode = EncryptedField()
    person_id_index = BlindIndexField(source="trust_person_id", kind=IndexKind.PERSON_ID)
    nhs_number_index = BlindIndexField(source="nhs_number", kind=IndexKind.NHS_NUMBER)
    surname_dob_index = BlindIndexField(source=("surname", "date_of_birth"), kind=IndexKind.SURNAME_DOB)
    surname_index = BlindIndexField(source="surname", kind=IndexKind.SURNAME)
    nhs_number_valid = models.BooleanField(null=True)
    ethnicity = models.CharField(max_length=8, blank=True)
    expected_child_due = models.DateField(null=True, blank=True)
    died_on = models.DateField(null=True, blank=True)
    first_extract = models.ForeignKey(Extract, on_delete=models.PROTECT, related_name="+")
    last_extract = models.ForeignKey(Extract, on_delete=models.PROTECT, related_name="+")
    in_latest_extract = models.BooleanField(default=True)

    data_classification = {
        "id": D.SAFE,
        "row_uid": D.SAFE,
        "programme": D.SAFE,
        "trust_person_id": D.DIRECT,
        "forename": D.DIRECT,
        "surname": D.DIRECT,
        "date_of_birth": D.DIRECT,
        "nhs_number": D.DIRECT,
        "postcode": D.DIRECT,
        "person_id_index": D.QUASI,
        "nhs_number_index": D.QUASI,
        "surname_dob_index": D.QUASI,
        "surname_index": D.QUASI,
        "nhs_number_valid": D.SAFE,
        "ethnicity": D.SPECIAL,
        "expected_child_due": D.SPECIAL,  # a pregnancy is health data
        "died_on": D.QUASI,
        "first_extract": D.SAFE,
        "last_extract": D.SAFE,
        "in_latest_extract": D.SAFE,
    }

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["programme", "person_id_index"], name="woman_once_per_programme"),
        ]

    def __str__(self) -> str:
        return f"woman #{self.pk}"


class Child(ProtectedModel):
    """A child of a kept woman: no name, no NHS number, no address — only what the rules need."""

    programme = models.ForeignKey("sharing.Programme", on_delete=models.PROTECT, related_name="children")
    mother = models.ForeignKey(Woman, on_delete=models.PROTECT, related_name="children")
    trust_person_id = EncryptedField()
    date_of_birth = EncryptedField()
    person_id_index = BlindIndexField(source="trust_person_id", kind=IndexKind.PERSON_ID)
    birth_year = models.PositiveSmallIntegerField(null=True, blank=True)
    expected = models.BooleanField(default=False)  # an unborn child, dated by its due date
    sex = models.CharField(max_length=1, blank=True)
    first_extract = models.ForeignKey(Extract, on_delete=models.PROTECT, related_name="+")
    last_extract = models.ForeignKey(Extract, on_delete=models.PROTECT, related_name="+")
    in_latest_extract = models.BooleanField(default=True)

    data_classification = {
        "id": D.SAFE,
        "row_uid": D.SAFE,
        "programme": D.SAFE,
        "mother": D.SAFE,
        "trust_person_id": D.DIRECT,
        "date_of_birth": D.DIRECT,
        "person_id_index": D.QUASI,
        "birth_year": D.QUASI,
        "expected": D.SPECIAL,
        "sex": D.QUASI,
        "first_extract": D.SAFE,
        "last_extract": D.SAFE,
        "in_latest_extract": D.SAFE,
    }

    class Meta:
        verbose_name_plural = "children"
        constraints = [
            models.UniqueConstraint(fields=["programme", "person_id_index"], name="child_once_per_programme"),
        ]

    def __str__(self) -> str:
        return f"child #{self.pk}"


class LegalStatus(models.Model):
    """A child's legal status period (SSDA903 LS code). Youth-justice statuses are never imported."""

    child = models.ForeignKey(Child, on_delete=models.PROTECT, related_name="legal_statuses")
    source_row_id = models.CharField(max_length=48)
    code = models.CharField(max_length=8)
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    extract = models.ForeignKey(Extract, on_delete=models.PROTECT, related_name="+")

    data_classification = {
        "id": D.SAFE,
        "child": D.SAFE,
        "source_row_id": D.SAFE,
        "code": D.SPECIAL,
        "start_date": D.QUASI,
        "end_date": D.QUASI,
        "extract": D.SAFE,
    }

    class Meta:
        constraints = [models.UniqueConstraint(fields=["child", "source_row_id"], name="legal_status_row_once")]

    def __str__(self) -> str:
        return f"legal status #{self.pk}"


class CareEpisode(models.Model):
    """A child's looked-after episode; the reason it ceased (REC) is what the rules read."""

    child = models.ForeignKey(Child, on_delete=models.PROTECT, related_name="care_episodes")
    source_row_id = models.CharField(max_length=48)
    start_date = models.DateField(null=True, blank=True)
    start_reason = models.CharField(max_length=8, blank=True)
    primary_need = models.CharField(max_length=8, blank=True)
    ceased_date = models.DateField(null=True, blank=True)
    ceased_reason = models.CharField(max_length=8, blank=True)
    period_of_care_id = models.CharField(max_length=48, blank=True)
    entered_care_date = models.DateField(null=True, blank=True)
    extract = models.ForeignKey(Extract, on_delete=models.PROTECT, related_name="+")

    data_classification = {
        "id": D.SAFE,
        "child": D.SAFE,
        "source_row_id": D.SAFE,
        "start_date": D.QUASI,
        "start_reason": D.SPECIAL,
        "primary_need": D.SPECIAL,
        "ceased_date": D.QUASI,
        "ceased_reason": D.SPECIAL,
        "period_of_care_id": D.SAFE,
        "entered_care_date": D.QUASI,
        "extract": D.SAFE,
    }

    class Meta:
        constraints = [models.UniqueConstraint(fields=["child", "source_row_id"], name="care_episode_row_once")]

    def __str__(self) -> str:
        return f"care episode #{self.pk}"


class DuplicateReason(models.TextChoices):
    NHS_NUMBER = "nhs_number", "Same NHS number"
    SURNAME_DOB = "surname_dob", "Same surname and date of birth"


class DuplicateStatus(models.TextChoices):
    OPEN = "open", "Waiting for a decision"
    CONFIRMED = "confirmed", "Confirmed: the same woman"
    REJECTED = "rejected", "Rejected: different women"


class DuplicateProposal(models.Model):
    """Two women of a programme, under two Trust person ids, that may be the same woman (equal
    blind indexes of the NHS number, or of the normalised surname and date of birth). A
    caseworker confirms or rejects it with a reason; confirming records the decision only —
    nothing is ever merged automatically. Proposed once per pair, whatever the decision."""

    programme = models.ForeignKey("sharing.Programme", on_delete=models.PROTECT, related_name="duplicate_proposals")
    woman_a = models.ForeignKey(Woman, on_delete=models.PROTECT, related_name="+")  # the lower pk
    woman_b = models.ForeignKey(Woman, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=12, choices=DuplicateReason.choices)
    status = models.CharField(max_length=10, choices=DuplicateStatus.choices, default=DuplicateStatus.OPEN)
    proposed_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey("sharing.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)

    data_classification = {
        "id": D.SAFE,
        "programme": D.SAFE,
        "woman_a": D.SAFE,
        "woman_b": D.SAFE,
        "reason": D.SAFE,  # which kind of index matched, never a value
        "status": D.SAFE,
        "proposed_at": D.SAFE,
        "decided_by": D.SAFE,
        "decided_at": D.SAFE,
        "decision_reason": D.SPECIAL,  # free text about two women's records: may say anything
    }

    class Meta:
        ordering = ["proposed_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["woman_a", "woman_b"], name="duplicate_proposed_once_per_pair"),
            models.CheckConstraint(condition=Q(woman_a__lt=models.F("woman_b")), name="duplicate_two_women_in_order"),
            models.CheckConstraint(
                condition=(
                    Q(status=DuplicateStatus.OPEN, decided_by__isnull=True, decided_at__isnull=True, decision_reason="")
                    | (Q(status__in=[DuplicateStatus.CONFIRMED, DuplicateStatus.REJECTED], decided_by__isnull=False,
                         decided_at__isnull=False) & ~Q(decision_reason=""))
                ),
                name="duplicate_decision_who_when_why",
            ),
        ]
        indexes = [models.Index(fields=["programme", "status"], name="duplicate_programme_status")]

    def __str__(self) -> str:
        return f"duplicate proposal #{self.pk} ({self.status})"


# The fields a data protection officer may rectify, per model. A child's birth year is derived from
# its date of birth (kept in step by the correction), so it is never corrected on its own.
CORRECTABLE_FIELDS = {
    "woman": ("forename", "surname", "date_of_birth", "nhs_number", "postcode", "ethnicity", "expected_child_due",
              "died_on"),
    "child": ("date_of_birth", "sex"),
}


class Correction(ProtectedModel):
    """A rectified value of one field of a woman or a child (UK GDPR Art. 16). The previous and
    corrected values and the reason are encrypted, bound to this row. A newer correction of the
    same record and field deactivates the earlier one; none is ever deleted for that, so the
    corrections of a field, oldest first, are its value history. The import keeps the active
    corrected value over the extract's (`eligibility.corrections.active_corrections`).

    Written only by `eligibility.corrections.correct`. Erasing a person (Art. 17) deletes their
    corrections with them: the foreign keys protect, so that is always a deliberate step."""

    key_phase = Woman.key_phase

    programme = models.ForeignKey("sharing.Programme", on_delete=models.PROTECT, related_name="corrections")
    woman = models.ForeignKey(Woman, null=True, blank=True, on_delete=models.PROTECT, related_name="corrections")
    child = models.ForeignKey(Child, null=True, blank=True, on_delete=models.PROTECT, related_name="corrections")
    field = models.CharField(max_length=30)
    previous_value = EncryptedField()
    corrected_value = EncryptedField()
    reason = EncryptedField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)
    active = models.BooleanField(default=True)

    data_classification = {
        "id": D.SAFE,
        "row_uid": D.SAFE,
        "programme": D.SAFE,
        "woman": D.SAFE,
        "child": D.SAFE,
        "field": D.SAFE,  # which field, never a value
        "previous_value": D.DIRECT,  # a name, a date of birth, an NHS number...
        "corrected_value": D.DIRECT,
        "reason": D.SPECIAL,  # free text about a person's record: may say anything
        "recorded_by": D.SAFE,
        "recorded_at": D.SAFE,
        "active": D.SAFE,
    }

    class Meta:
        ordering = ["recorded_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(woman__isnull=False, child__isnull=True, field__in=CORRECTABLE_FIELDS["woman"])
                    | Q(woman__isnull=True, child__isnull=False, field__in=CORRECTABLE_FIELDS["child"])
                ),
                name="correction_of_one_woman_or_child_field",
            ),
            models.UniqueConstraint(
                fields=["woman", "field"], condition=Q(active=True), name="correction_one_active_per_woman_field"
            ),
            models.UniqueConstraint(
                fields=["child", "field"], condition=Q(active=True), name="correction_one_active_per_child_field"
            ),
        ]

    def __str__(self) -> str:
        return f"correction #{self.pk} ({self.field})"


class ErasedPerson(models.Model):
    """A tombstone: a person erased from the programme (UK GDPR Art. 17) whom no later extract may
    bring back. Holds only the blind index of the canonical Trust person id (never the id), under
    the blind-index key version current when erased; see `eligibility.corrections` for how it is
    matched across key rotations. Written only by `eligibility.corrections.erase_tombstone`."""

    programme = models.ForeignKey("sharing.Programme", on_delete=models.PROTECT, related_name="erased_people")
    person_id_index = models.CharField(max_length=48)
    erased_at = models.DateTimeField(default=timezone.now)
    erased_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=100)  # a reason code and the request reference, no personal data

    data_classification = {
        "id": D.SAFE,
        "programme": D.SAFE,
        "person_id_index": D.QUASI,
        "erased_at": D.SAFE,
        "erased_by": D.SAFE,
        "reason": D.SAFE,
    }

    class Meta:
        verbose_name_plural = "erased people"
        ordering = ["erased_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "person_id_index"], name="erased_person_once_per_programme"),
        ]

    def __str__(self) -> str:
        return f"erased person #{self.pk}"


# --- rules, proposals, decisions and restrictions (issue 5) -----------------------------------
class Proposal(models.TextChoices):
    """What the rules propose for a woman; only a person decides (see `Decision`)."""

    ELIGIBLE = "eligible", "Eligible"
    AT_RISK = "at_risk", "At risk"
    NEEDS_REVIEW = "needs_review", "Needs review"
    NOT_PROPOSED = "not_proposed", "Not proposed"


# Rows that are history: never updated or deleted, except that re-encryption after a key
# rotation may still rewrite a protected row's ciphertexts (and nothing else).
HISTORY = Refusals(
    error=PermissionError,
    update="{plural} are history: they are never updated.",
    delete="{plural} are history: they are never deleted.",
    save="A {name} is history: it is never changed.",
    instance_delete="A {name} is history: it is never deleted.",
    reencryptable=True,
)


class RuleSet(AppendOnlyModel):
    """One version of a programme's eligibility rules. Versions are never changed: an edit
    (`eligibility.rules.edit_rule_set`) writes the next version, so every proposal and decision
    keeps naming the rules it was made under. The first version copies the specification's
    defaults (`eligibility.rules.current_rule_set` creates it when first needed).

    `positions` gives every legal status (LS) and episode-ceased reason (REC) code exactly one
    position — counted, review or not counted — as {code list: {code: position}}; a code outside
    it (an unrecognised one) is for review."""

    append_only = HISTORY

    programme = models.ForeignKey("sharing.Programme", on_delete=models.PROTECT, related_name="rule_sets")
    version = models.PositiveIntegerField()
    positions = models.JSONField()
    eligible_threshold = models.PositiveSmallIntegerField(default=2)  # children removed within the window
    at_risk_signals = models.JSONField()  # of eligibility.rules.Signal
    open_proceedings_codes = models.JSONField()  # LS codes that, with no end date, are open proceedings
    look_back_years = models.PositiveSmallIntegerField(default=10)
    minimum_age = models.PositiveSmallIntegerField(default=16)
    based_on = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(  # nobody for the first version, made from the defaults
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    data_classification = {
        "id": D.SAFE,
        "programme": D.SAFE,
        "version": D.SAFE,
        "positions": D.SAFE,
        "eligible_threshold": D.SAFE,
        "at_risk_signals": D.SAFE,
        "open_proceedings_codes": D.SAFE,
        "look_back_years": D.SAFE,
        "minimum_age": D.SAFE,
        "based_on": D.SAFE,
        "created_by": D.SAFE,
        "created_at": D.SAFE,
    }

    class Meta:
        ordering = ["programme", "version"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "version"], name="rule_set_version_once"),
            models.CheckConstraint(condition=Q(eligible_threshold__gte=1), name="rule_set_threshold_positive"),
            models.CheckConstraint(condition=Q(look_back_years__gte=1), name="rule_set_window_positive"),
        ]

    def __str__(self) -> str:
        return f"rule set version {self.version}"


class EvaluationRun(AppendOnlyModel):
    """One run of the rules over a programme's women (`eligibility.recompute.recompute`), after an
    import or a new rule-set version, with what changed since the run before."""

    append_only = HISTORY

    programme = models.ForeignKey("sharing.Programme", on_delete=models.PROTECT, related_name="evaluation_runs")
    rule_set = models.ForeignKey(RuleSet, on_delete=models.PROTECT, related_name="runs")
    reference_date = models.DateField()
    previous = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # The earliest run whose evaluations stand in this one, re-used because nothing in them changed
    # (ADR 42); none: this run wrote every evaluation that stands in it.
    carries_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    run_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    run_at = models.DateTimeField(default=timezone.now)
    summary = models.JSONField(default=dict)  # counts only

    data_classification = {
        "id": D.SAFE,
        "programme": D.SAFE,
        "rule_set": D.SAFE,
        "reference_date": D.SAFE,
        "previous": D.SAFE,
        "carries_from": D.SAFE,
        "run_by": D.SAFE,
        "run_at": D.SAFE,
        "summary": D.SAFE,
    }

    class Meta:
        ordering = ["run_at", "pk"]

    def __str__(self) -> str:
        return f"evaluation run #{self.pk}"


class RecomputeStatus(models.TextChoices):
    QUEUED = "queued", "Waiting to run"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class RecomputeJob(models.Model):
    """A request to run the rules in the background (after an import, a new rule-set version, or
    "Run the rules now"), and how it went: the pages show it until it is done."""

    programme = models.ForeignKey("sharing.Programme", on_delete=models.PROTECT, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    why = models.CharField(max_length=200)  # e.g. "rule set version 3"; never personal data
    status = models.CharField(max_length=10, choices=RecomputeStatus.choices, default=RecomputeStatus.QUEUED)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    run = models.ForeignKey(EvaluationRun, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    failure = models.CharField(max_length=200, blank=True)  # the error's kind, never a value

    data_classification = {
        "id": D.SAFE,
        "programme": D.SAFE,
        "requested_by": D.SAFE,
        "requested_at": D.SAFE,
        "why": D.SAFE,
        "status": D.SAFE,
        "started_at": D.SAFE,
        "finished_at": D.SAFE,
        "run": D.SAFE,
        "failure": D.SAFE,
    }

    class Meta:
        ordering = ["requested_at", "pk"]

    def __str__(self) -> str:
        return f"recompute job #{self.pk}"


class Evaluation(AppendOnlyModel):
    """What the rules proposed for one woman in one run, and the evidence: codes, dates, extract
    and child references (never a name or an id from the Trust's system)."""

    append_only = HISTORY

    # No index of their own: the (run, woman) and (woman, run) indexes below serve both columns,
    # and every stored evaluation paid for the two extra ones (ADR 51).
    run = models.ForeignKey(EvaluationRun, on_delete=models.PROTECT, related_name="evaluations", db_index=False)
    woman = models.ForeignKey(Woman, on_delete=models.PROTECT, related_name="evaluations", db_index=False)
    proposal = models.CharField(max_length=12, choices=Proposal.choices)
    explanation = models.CharField(max_length=1000)
    evidence = models.JSONField()
    evidence_digest = models.CharField(max_length=64)  # of the evidence (engine.digest_of)
    children_removed = models.PositiveSmallIntegerField()
    children_for_review = models.PositiveSmallIntegerField()
    # Of everything above that a run writes (eligibility.evaluation_store.content_digest): equal
    # digests, an evaluation left as it is (ADR 42). Empty in rows written before.
    content_digest = models.CharField(max_length=64, default="", blank=True)

    data_classification = {
        "id": D.SAFE,
        "run": D.SAFE,
        "woman": D.SAFE,
        "proposal": D.SPECIAL,
        "explanation": D.SPECIAL,  # codes and dates of her children's care proceedings
        "evidence": D.SPECIAL,
        "evidence_digest": D.SAFE,
        "content_digest": D.SAFE,
        "children_removed": D.SPECIAL,
        "children_for_review": D.SPECIAL,
    }

    class Meta:
        ordering = ["run", "woman"]
        constraints = [models.UniqueConstraint(fields=["run", "woman"], name="evaluation_once_per_run")]
        indexes = [models.Index(fields=["woman", "run"], name="evaluation_woman_run")]

    def __str__(self) -> str:
        return f"evaluation #{self.pk}"


class DecisionOutcome(models.TextChoices):
    ELIGIBLE = "eligible", "Eligible"
    AT_RISK = "at_risk", "At risk"
    NOT_ELIGIBLE = "not_eligible", "Not eligible"
    MORE_INFORMATION = "more_information", "Needs more information"


class Decision(ProtectedModel, AppendOnlyModel):
    """A named Trust person's decision about one woman, with the rules and evidence it was made
    on. Never changed: a revision is a new row, and the latest (highest pk) is current. The
    reason is free text and may name people: it is encrypted, bound to this row. Written only by
    `eligibility.decisions.decide`."""

    append_only = HISTORY

    key_phase = Woman.key_phase

    programme = models.ForeignKey("sharing.Programme", on_delete=models.PROTECT, related_name="eligibility_decisions")
    woman = models.ForeignKey(Woman, on_delete=models.PROTECT, related_name="decisions")
    outcome = models.CharField(max_length=16, choices=DecisionOutcome.choices)
    reason = EncryptedField()
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(default=timezone.now)
    rule_set = models.ForeignKey(RuleSet, on_delete=models.PROTECT, related_name="decisions")
    reference_date = models.DateField()
    evaluation = models.ForeignKey(Evaluation, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    proposal = models.CharField(max_length=12, choices=Proposal.choices)  # what the rules proposed then
    evidence = models.JSONField()
    evidence_digest = models.CharField(max_length=64)

    data_classification = {
        "id": D.SAFE,
        "row_uid": D.SAFE,
        "programme": D.SAFE,
        "woman": D.SAFE,
        "outcome": D.SPECIAL,
        "reason": D.SPECIAL,  # free text about a woman: may say anything
        "decided_by": D.SAFE,
        "decided_at": D.SAFE,
        "rule_set": D.SAFE,
        "reference_date": D.SAFE,
        "evaluation": D.SAFE,
        "proposal": D.SPECIAL,
        "evidence": D.SPECIAL,
        "evidence_digest": D.SAFE,
    }

    class Meta:
        ordering = ["woman", "pk"]
        indexes = [models.Index(fields=["woman", "-id"], name="decision_woman_latest")]

    def __str__(self) -> str:
        return f"decision #{self.pk} ({self.outcome})"


class ReReview(AppendOnlyModel):
    """A decision whose evidence changed in a later run. It is pending while that decision is
    still the woman's latest; a new decision about her settles it (nothing is updated)."""

    append_only = HISTORY

    woman = models.ForeignKey(Woman, on_delete=models.PROTECT, related_name="re_reviews")
    decision = models.ForeignKey(Decision, on_delete=models.PROTECT, related_name="re_reviews")
    run = models.ForeignKey(EvaluationRun, on_delete=models.PROTECT, related_name="re_reviews")
    marked_at = models.DateTimeField(default=timezone.now)

    data_classification = {
        "id": D.SAFE,
        "woman": D.SAFE,
        "decision": D.SAFE,
        "run": D.SAFE,
        "marked_at": D.SAFE,
    }

    class Meta:
        ordering = ["marked_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["decision"], name="re_review_once_per_decision")]

    def __str__(self) -> str:
        return f"re-review #{self.pk}"


class RestrictionReason(models.TextChoices):
    RESTRICTION_REQUEST = "restriction_request", "She asked for processing to be restricted (Art. 18)"
    OBJECTION = "objection", "She objected to processing (Art. 21)"
    SAFEGUARDING = "safeguarding", "Safeguarding: hold while a concern is looked into"
    ACCURACY = "accuracy", "Her records' accuracy is contested"


class Restriction(models.Model):
    """Something that stops a woman's records being released to Pause while it is open (no end)."""

    programme = models.ForeignKey("sharing.Programme", on_delete=models.PROTECT, related_name="restrictions")
    woman = models.ForeignKey(Woman, on_delete=models.PROTECT, related_name="restrictions")
    reason = models.CharField(max_length=24, choices=RestrictionReason.choices)
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    data_classification = {
        "id": D.SAFE,
        "programme": D.SAFE,
        "woman": D.SAFE,
        "reason": D.SPECIAL,  # says she objected, or a safeguarding concern
        "started_at": D.SAFE,
        "ended_at": D.SAFE,
        "recorded_by": D.SAFE,
    }

    class Meta:
        ordering = ["started_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=models.F("started_at")),
                name="restriction_ends_after_it_starts",
            ),
        ]
        indexes = [models.Index(fields=["woman", "ended_at"], name="restriction_woman_open")]

    def __str__(self) -> str:
        return f"restriction #{self.pk} ({self.reason})"


from eligibility.models_kept import KeptDecision  # noqa: E402,F401  (defined apart to keep this module short)
