"""The audit trail: one entry per event or disclosure, append-only, with no identifying value.

`AuditEntry` is django-auditlog's swappable log entry with our context added. A disclosure names
every subject it showed in `AuditSubject` rows (an index from subject to entry), as references
("app.model:pk"), never as values.
"""

from __future__ import annotations

from auditlog.models import AbstractLogEntry, LogEntryManager
from django.core.exceptions import PermissionDenied
from django.db import models
from django.utils import timezone

from audit.core.masking import redact_changes, subject_reference
from pause_portal import request_context
from pause_portal.append_only import AppendOnlyModel, AppendOnlyQuerySet, Refusals
from pause_portal.classification import DataClass as D


class Event(models.TextChoices):
    SIGN_IN = "sign_in", "Signed in"
    SIGN_IN_FAILED = "sign_in_failed", "Failed sign-in"
    LOCKOUT = "lockout", "Locked out"
    MFA_VERIFIED = "mfa_verified", "Passed two-step sign-in"
    MFA_FAILED = "mfa_failed", "Failed two-step sign-in"
    MFA_ENROLLED = "mfa_enrolled", "Set up two-step sign-in"
    MFA_RESET = "mfa_reset", "Two-step sign-in reset"
    ACCOUNT_LINK_ISSUED = "account_link_issued", "Sign-in link issued"
    PASSWORD_SET = "password_set", "Password set"
    SIGN_OUT = "sign_out", "Signed out"
    SESSION_EXPIRED = "session_expired", "Session expired"
    REFUSED = "refused", "Refused request"
    DISCLOSURE = "disclosure", "Disclosure"
    CHANGE = "change", "Change"
    ROLE_REQUESTED = "role_requested", "Role requested"
    ROLE_CONFIRMED = "role_confirmed", "Role confirmed"
    ROLE_REVOKED = "role_revoked", "Role revoked"
    PERSON_ADDED = "person_added", "Person added"
    PERSON_DEACTIVATED = "person_deactivated", "Person deactivated"
    AUDIT_BYPASS = "audit_bypass", "Audit tables emptied under the owner role"
    REVIEW_SEARCH = "review_search", "Audit trail searched"
    REVIEW_EXPORT = "review_export", "Audit trail exported"


# How the trail's tables refuse a rewrite (pause_portal.append_only; the database enforces it).
AUDIT_ENTRIES = Refusals(
    error=PermissionDenied,
    update="Audit entries are append-only: they cannot be updated.",
    delete="Audit entries are append-only: they cannot be deleted.",
    save="Audit entries are append-only: they cannot be updated.",
)


class AuditEntryManager(LogEntryManager.from_queryset(AppendOnlyQuerySet)):
    def log_create(self, instance, force_log: bool = False, **kwargs):
        """django-auditlog's change entries, made safe: a reference instead of str(instance),
        sensitive fields' values redacted, and the actor and request from our own context
        (auditlog's middleware would trust a forged X-Forwarded-For)."""
        ctx = request_context.current()
        kwargs["object_repr"] = subject_reference(instance)
        if kwargs.get("changes") is not None:
            kwargs["changes"] = redact_changes(type(instance), kwargs["changes"])
            kwargs["changes_text"] = ""
        kwargs.setdefault("event", Event.CHANGE)
        kwargs.setdefault("actor_id", ctx.actor_id)
        kwargs.setdefault("remote_addr", ctx.remote_addr)
        kwargs.setdefault("request_id", ctx.request_id)
        kwargs.setdefault("page", ctx.page)
        kwargs["serialized_data"] = None
        return super().log_create(instance, force_log=force_log, **kwargs)


class AuditEntry(AppendOnlyModel, AbstractLogEntry):
    event = models.CharField(max_length=30, choices=Event.choices, db_index=True)
    role = models.CharField(max_length=30, blank=True)
    organisation = models.ForeignKey(
        "sharing.Organisation", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    programme = models.ForeignKey("sharing.Programme", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    phase = models.CharField(max_length=10, blank=True)
    request_id = models.CharField(max_length=64, blank=True, db_index=True)
    page = models.CharField(max_length=200, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    reason = models.TextField(blank=True)
    subject_count = models.PositiveIntegerField(default=0)

    objects = AuditEntryManager()
    append_only = AUDIT_ENTRIES

    # Entries hold references and context, never identifying values (see audit.core.masking).
    data_classification = {
        name: D.SAFE
        for name in (
            "id", "content_type", "object_pk", "object_id", "object_repr", "serialized_data", "action",
            "changes_text", "changes", "actor", "cid", "remote_addr", "remote_port", "timestamp",
            "additional_data", "actor_email", "event", "role", "organisation", "programme", "phase",
            "request_id", "page", "status_code", "reason", "subject_count",
        )
    }

    class Meta(AbstractLogEntry.Meta):
        verbose_name = "audit entry"
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["programme", "timestamp"]),
            models.Index(fields=["actor", "timestamp"]),
            # The access review's per-person search finds refused requests for her pages by address.
            models.Index(fields=["page"], condition=models.Q(event="refused"), name="audit_refused_page"),
            # ... and the entries acting on one of her records (auditlog indexes the two apart).
            models.Index(fields=["content_type", "object_id"], name="audit_entry_target"),
        ]

    def save(self, *args, **kwargs):
        if self._state.adding:  # an existing entry is refused by the append-only guard
            self.actor_email = None  # auditlog would copy the actor's email here
        super().save(*args, **kwargs)


class AuditSubject(AppendOnlyModel):
    """Which subjects a disclosure showed: the index from a subject to every entry about it.

    `entry_time` is the entry's own timestamp, copied: on PostgreSQL the three trail tables are
    partitioned by month on the entry's time (ADR 52), so an entry, its subjects and its seal
    drop together. No database constraint on `entry`: a foreign key into a partitioned table must
    name its whole key (id and time). Make rows with `AuditSubject.of(entry, reference)`."""

    entry = models.ForeignKey(AuditEntry, on_delete=models.PROTECT, related_name="subjects", db_constraint=False)
    subject = models.CharField(max_length=120)
    entry_time = models.DateTimeField()

    append_only = Refusals(
        error=PermissionDenied,
        update=AUDIT_ENTRIES.update,
        delete=AUDIT_ENTRIES.delete,
        save="Audit subjects are append-only.",
    )

    data_classification = {"id": D.SAFE, "entry": D.SAFE, "subject": D.SAFE, "entry_time": D.SAFE}

    class Meta:
        indexes = [models.Index(fields=["subject", "entry"])]

    @classmethod
    def of(cls, entry: AuditEntry, subject: str) -> AuditSubject:
        return cls(entry=entry, subject=subject, entry_time=entry.timestamp)

    def __str__(self) -> str:
        return self.subject


class AuditSeal(AppendOnlyModel):
    """One link of the audit trail's hash chain (`audit.core.sealing`): the `seq`th entry sealed, the
    SHA-256 of its canonical content, and HMAC(key, seq | entry | digest | previous link). Sealed
    in commit order by a background sealer, so writers never wait; an entry that commits after a
    higher id was sealed is sealed when it appears (`late`). Append-only, like the entries.

    `entry_time` is the sealed entry's timestamp (the month partition it lives in on PostgreSQL,
    ADR 52); it is not part of the digest or the link. There, `seq` and `entry_id` are unique
    with `entry_time` (a partitioned table's keys must hold its partition key)."""

    seq = models.PositiveBigIntegerField(primary_key=True)
    entry_id = models.BigIntegerField(unique=True)  # no FK: the verifier, not the schema, says what is missing
    entry_time = models.DateTimeField()
    entry_digest = models.CharField(max_length=64)
    chain = models.CharField(max_length=64)
    sealed_at = models.DateTimeField()
    late = models.BooleanField(default=False)

    append_only = AUDIT_ENTRIES

    data_classification = {"seq": D.SAFE, "entry_id": D.SAFE, "entry_digest": D.SAFE, "chain": D.SAFE,
                           "sealed_at": D.SAFE, "late": D.SAFE, "entry_time": D.SAFE}

    def __str__(self) -> str:
        return f"audit seal #{self.seq}"


class AuditChainAnchor(AppendOnlyModel):
    """A run of links removed by a retention purge (seq `from_seq` to `first_seq` - 1) and the
    last removed link, so verification steps over the gap and carries on. MACed with the chain key:
    nobody without it can declare a gap to hide a deletion."""

    from_seq = models.PositiveBigIntegerField(default=1)
    first_seq = models.PositiveBigIntegerField()
    previous_chain = models.CharField(max_length=64)
    purged_at = models.DateTimeField(default=timezone.now)
    reason = models.TextField()
    mac = models.CharField(max_length=64, default="")

    append_only = AUDIT_ENTRIES

    data_classification = {"id": D.SAFE, "from_seq": D.SAFE, "first_seq": D.SAFE, "previous_chain": D.SAFE,
                           "purged_at": D.SAFE, "reason": D.SAFE, "mac": D.SAFE}

    def __str__(self) -> str:
        return f"audit chain anchor: links {self.from_seq}-{self.first_seq - 1} purged"
