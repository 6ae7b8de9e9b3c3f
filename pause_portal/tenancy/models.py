"""The tenancy: organisations, programmes, people and their memberships (person x programme x role),
with the sign-in links and signed-in sessions. Everything in the portal needs them, so they are in
the kernel; their app label stays "sharing" (labels are sealed into the audit trail, ADR 23), and
`sharing.models` re-exports them for Django.

Writes go through `sharing.actions`; nothing here saves on anyone's behalf.
"""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import PermissionDenied
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone

from pause_portal.classification import DataClass as D
from pause_portal.tenancy.identity import normalise_email
from pause_portal.tenancy.roles import OrganisationKind, Role


class Phase(models.TextChoices):
    SCOPING = "scoping", "Scoping"
    DELIVERY = "delivery", "Delivery"
    CLOSED = "closed", "Closed"


class Organisation(models.Model):
    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=10, choices=OrganisationKind.choices)

    data_classification = {"id": D.SAFE, "name": D.SAFE, "kind": D.SAFE}

    class Meta:
        app_label = "sharing"  # sealed into the audit trail: never changes (ADR 23)
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Programme(models.Model):
    """One Trust and one Pause practice working together, in one phase at a time."""

    name = models.CharField(max_length=200, unique=True)
    trust = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="trust_programmes")
    pause_practice = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="pause_programmes")
    phase = models.CharField(max_length=10, choices=Phase.choices, default=Phase.SCOPING)
    phase_started_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)
    # How many working days (England and Wales) the Trust has to acknowledge a safeguarding concern
    # or serious incident before its leads are reminded (issue 23, point 6; ADR 47): set by the
    # system administrator with the programme's other settings.
    concern_acknowledge_working_days = models.PositiveSmallIntegerField(
        "Working days to acknowledge a safeguarding concern", default=1,
        validators=[MinValueValidator(1), MaxValueValidator(10)],
        help_text="The Trust's leads are reminded when a concern raised by Pause is still not acknowledged "
                  "this many working days later (England and Wales bank holidays excluded): 1 to 10.")

    data_classification = {
        "id": D.SAFE,
        "name": D.SAFE,
        "concern_acknowledge_working_days": D.SAFE,
        "trust": D.SAFE,
        "pause_practice": D.SAFE,
        "phase": D.SAFE,
        "phase_started_at": D.SAFE,
        "created_at": D.SAFE,
    }

    class Meta:
        app_label = "sharing"  # sealed into the audit trail: never changes (ADR 23)
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=~Q(trust=F("pause_practice")), name="programme_two_organisations"),
            models.CheckConstraint(condition=Q(concern_acknowledge_working_days__gte=1,
                                               concern_acknowledge_working_days__lte=10),
                                   name="programme_concern_working_days_1_to_10"),
        ]

    def __str__(self) -> str:
        return self.name


class PersonQuerySet(models.QuerySet):
    def delete(self):
        raise PermissionDenied("People are deactivated, never deleted (sharing.actions.deactivate_person).")


class PersonManager(BaseUserManager.from_queryset(PersonQuerySet)):
    use_in_migrations = True

    def get_by_natural_key(self, username: str | None) -> Person:
        # An exact match on the normalised address, never `iexact` (ADR 21): the string that signs
        # a person in is then their stored address, the name django-axes counts failures under.
        return self.get(email=normalise_email(username))

    def by_email(self, value: str | None) -> PersonQuerySet:
        """The person with this address, however it was typed (at most one)."""
        return self.filter(email=normalise_email(value))

    def create_user(self, email: str, password: str | None = None, **extra) -> Person:
        # Used by Django's own machinery only; people are added through sharing.actions.add_person.
        person = self.model(email=normalise_email(email), **extra)
        person.set_password(password) if password else person.set_unusable_password()
        person.save(using=self._db)
        return person


class Person(AbstractBaseUser, PermissionsMixin):
    """A member of staff. Belongs to one organisation; deactivated, never deleted."""

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=200)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="people")
    is_active = models.BooleanField(default=True)
    is_system_admin = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    deactivated_at = models.DateTimeField(null=True, blank=True)
    deactivated_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    objects = PersonManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    data_classification = {
        "id": D.SAFE,
        "password": D.SAFE,  # a salted hash
        "last_login": D.SAFE,
        "is_superuser": D.SAFE,
        "groups": D.SAFE,
        "user_permissions": D.SAFE,
        "email": D.DIRECT,
        "full_name": D.DIRECT,
        "organisation": D.SAFE,
        "is_active": D.SAFE,
        "is_system_admin": D.SAFE,
        "date_joined": D.SAFE,
        "deactivated_at": D.SAFE,
        "deactivated_by": D.SAFE,
    }

    class Meta:
        app_label = "sharing"  # sealed into the audit trail: never changes (ADR 23)
        verbose_name = "person"
        constraints = [
            models.CheckConstraint(
                condition=Q(is_active=True, deactivated_at__isnull=True, deactivated_by__isnull=True)
                | Q(is_active=False, deactivated_at__isnull=False),
                name="person_deactivation_recorded",
            ),
            # One identity per address whatever its letter case: stored lower-case only (ADR 21).
            models.CheckConstraint(condition=Q(email=Lower("email")), name="person_email_lower_case"),
        ]

    def __str__(self) -> str:
        # A reference, not a name: str() of a person can end up in logs.
        return f"person #{self.pk}"

    def delete(self, *args, **kwargs):
        raise PermissionDenied("People are deactivated, never deleted (sharing.actions.deactivate_person).")

    @property
    def is_staff(self) -> bool:
        """The Django admin (an OTP admin site) is for system administrators only."""
        return self.is_active and self.is_system_admin


class MembershipStatus(models.TextChoices):
    PENDING = "pending", "Awaiting confirmation"
    ACTIVE = "active", "Active"
    REVOKED = "revoked", "Revoked"


class Membership(models.Model):
    """A person's role in one programme. Lead, DPO and Caldicott grants wait for a second person."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="memberships")
    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(max_length=30, choices=[c for c in Role.choices if c[0] != Role.SYSTEM_ADMIN])
    status = models.CharField(max_length=10, choices=MembershipStatus.choices)
    requested_by = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    confirmed_by = models.ForeignKey(Person, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    confirmed_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(Person, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)

    data_classification = {
        "id": D.SAFE,
        "person": D.SAFE,
        "programme": D.SAFE,
        "role": D.SAFE,
        "status": D.SAFE,
        "requested_by": D.SAFE,
        "requested_at": D.SAFE,
        "confirmed_by": D.SAFE,
        "confirmed_at": D.SAFE,
        "revoked_by": D.SAFE,
        "revoked_at": D.SAFE,
    }

    class Meta:
        app_label = "sharing"  # sealed into the audit trail: never changes (ADR 23)
        ordering = ["programme", "role", "id"]
        constraints = [
            # Paired who/when fields, and never the requester confirming their own grant.
            models.CheckConstraint(
                condition=Q(confirmed_by__isnull=True, confirmed_at__isnull=True)
                | Q(confirmed_by__isnull=False, confirmed_at__isnull=False),
                name="membership_confirmation_paired",
            ),
            models.CheckConstraint(
                condition=Q(revoked_by__isnull=True, revoked_at__isnull=True)
                | Q(revoked_by__isnull=False, revoked_at__isnull=False),
                name="membership_revocation_paired",
            ),
            models.CheckConstraint(
                condition=~Q(status=MembershipStatus.ACTIVE) | Q(confirmed_at__isnull=False),
                name="membership_active_is_confirmed",
            ),
            models.CheckConstraint(
                condition=~Q(status=MembershipStatus.REVOKED) | Q(revoked_at__isnull=False),
                name="membership_revoked_is_recorded",
            ),
            models.CheckConstraint(
                condition=Q(confirmed_by__isnull=True) | ~Q(confirmed_by=F("requested_by")) | ~Q(
                    role__in=[Role.TRUST_LEAD, Role.DPO, Role.CALDICOTT_GUARDIAN]
                ),
                name="membership_second_person_confirms",
            ),
            models.UniqueConstraint(
                fields=["person", "programme"],
                condition=Q(status__in=[MembershipStatus.PENDING, MembershipStatus.ACTIVE]),
                name="membership_one_role_per_programme",
            ),
        ]

    def __str__(self) -> str:
        return f"membership #{self.pk} ({self.get_role_display()}, {self.status})"


class AccountLinkPurpose(models.TextChoices):
    SET_PASSWORD = "set_password", "Set a password and set up two-step sign-in"
    MFA_RESET = "mfa_reset", "Set up two-step sign-in again after a lost device"


class AccountLink(models.Model):
    """A single-use, expiring link. Only a hash of its secret is stored."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="account_links")
    purpose = models.CharField(max_length=20, choices=AccountLinkPurpose.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    issued_by = models.ForeignKey(Person, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    issued_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "sharing"  # sealed into the audit trail: never changes (ADR 23)

    data_classification = {
        "id": D.SAFE,
        "person": D.SAFE,
        "purpose": D.SAFE,
        "token_hash": D.SAFE,
        "issued_by": D.SAFE,
        "issued_at": D.SAFE,
        "expires_at": D.SAFE,
        "used_at": D.SAFE,
    }

    def __str__(self) -> str:
        return f"account link #{self.pk} ({self.purpose})"


class SignedInSession(models.Model):
    """Which sessions belong to whom, so that deactivation or sign-out ends them server-side."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="signed_in_sessions")
    session_key = models.CharField(max_length=40, unique=True)
    started_at = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "sharing"  # sealed into the audit trail: never changes (ADR 23)

    data_classification = {"id": D.SAFE, "person": D.SAFE, "session_key": D.SAFE, "started_at": D.SAFE}

    def __str__(self) -> str:
        return f"session of person #{self.person_id}"
