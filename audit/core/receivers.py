"""Sign-in events come from Django's and django-axes's signals: they are the only place these
facts are known. Each receiver writes an entry and nothing else."""

from __future__ import annotations

from axes.signals import user_locked_out
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out, user_login_failed
from django.dispatch import receiver

from audit.core.log import record_event
from audit.core.models import Event


def _person_for(credentials: dict):
    # The attempted address is never written down; the account's number is, if there is one.
    username = (credentials or {}).get("username") or ""
    return get_user_model().objects.filter(email__iexact=username).first() if username else None


@receiver(user_login_failed, dispatch_uid="audit_sign_in_failed")
def sign_in_failed(sender, credentials=None, request=None, **kwargs):
    person = _person_for(credentials)
    record_event(
        Event.SIGN_IN_FAILED,
        actor=None,
        target=person,
        reason="unknown account" if person is None else "wrong password or locked",
    )


@receiver(user_locked_out, dispatch_uid="audit_lockout")
def locked_out(sender, request=None, username=None, ip_address=None, **kwargs):
    person = _person_for({"username": username})
    record_event(Event.LOCKOUT, actor=None, target=person, reason="too many failed sign-ins")


@receiver(user_logged_out, dispatch_uid="audit_sign_out")
def signed_out(sender, request=None, user=None, **kwargs):
    if user is not None and not getattr(request, "portal_logout_recorded", False):
        record_event(Event.SIGN_OUT, actor=user, target=user)
