"""The promises page's content (issue 23, point 7; ADR 46): each promise of the privacy notice, in
the notice's words, the control that enforces it in plain words, and the latest evidence the
portal holds that the control is working.

A promise is declared once in `PROMISES`; each of its evidence functions takes (programme, now)
and returns an `Evidence`: when it happened, what it shows in words, and its standing:

- current: the evidence is there, recent enough and holds;
- stale: it is older than its threshold (a daily job's record older than two days);
- missing: the portal holds nothing that shows the control working;
- fails: the evidence is there and shows the control did not hold (a certificate whose digest no
  longer re-checks, a chain that did not verify, a class smaller than k).

Another promise joins the page by one entry in `PROMISES`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.core.certificates import digest_holds
from audit.core.models_certificates import PurgeCertificate, PurgeKind
from audit.core.verification_record import held, latest_verification
from pause_portal import presenting
from pause_portal.tenancy.models import Membership, MembershipStatus, Programme
from sharing import dpia_register
from sharing.models_delivery import RetentionRun
from sharing.models_scoping import DeletionCertificate, ScopingRelease
from sharing.scoping_purge import certificate_digest as scoping_certificate_digest
from sharing.scoping_term import current_agreement

CURRENT, STALE, MISSING, FAILS = "current", "stale", "missing", "fails"
DAILY_JOB = timedelta(days=2)  # a daily job's record older than this is stale
VERIFICATION = timedelta(days=7)  # the trail's verification is run by hand: at least weekly


@dataclass(frozen=True)
class Evidence:
    label: str  # what the evidence is, in words
    status: str  # CURRENT, STALE, MISSING or FAILS
    what: str  # what it shows, in words
    when: datetime | None = None


def _dated(label: str, when: datetime, what: str, now: datetime, threshold: timedelta | None) -> Evidence:
    stale = threshold is not None and now - when > threshold
    return Evidence(label, STALE if stale else CURRENT, what, when)


def audit_trail_verified(programme: Programme, now: datetime) -> Evidence:
    label = "The last verification of the audit trail"
    entry = latest_verification()
    if entry is None:
        return Evidence(label, MISSING, "The audit trail's hash chain has never been verified "
                                        "(manage.py verify_audit_trail).")
    if not held(entry):
        return Evidence(label, FAILS, "The audit trail did not verify: " + entry.reason.split(": ", 1)[-1],
                        entry.timestamp)
    return _dated(label, entry.timestamp, "The hash chain held: " + entry.reason.split(": ", 1)[-1] + ".", now,
                  VERIFICATION)


def retention_ran(programme: Programme, now: datetime) -> Evidence:
    label = "The last retention run"
    run = (RetentionRun.objects.filter(programme=programme, dry_run=False, finished_at__isnull=False)
           .order_by("-finished_at", "-pk").first())
    if run is None:
        return Evidence(label, MISSING, "The retention schedule has never run for this programme.")
    deleted = sum(int(d.get("count") or 0) for d in (run.deleted or {}).values())
    return _dated(label, run.finished_at, f"The schedule ran and deleted {deleted} records.", now, DAILY_JOB)


def purge_certified(programme: Programme, now: datetime) -> Evidence:
    label = "The last purge certificate"
    found = (PurgeCertificate.objects.filter(Q(programme=programme) | Q(programme__isnull=True))
             .order_by("-purged_at", "-pk").first())
    if found is None:
        return Evidence(label, MISSING, "No purge has been certified for this programme.")
    kind = PurgeKind(found.kind).label
    if not digest_holds(found):
        return Evidence(label, FAILS, f"{kind}: the certificate's digest no longer matches what it records, "
                                      "so it has been changed since it was issued.", found.purged_at)
    return Evidence(label, CURRENT, f"{kind}: {found.rows_deleted} rows deleted; the digest matches.",
                    found.purged_at)


def scoping_data_deleted(programme: Programme, now: datetime) -> Evidence:
    label = "The certificate of the end of scoping"
    found = DeletionCertificate.objects.filter(programme=programme).first()
    if found is None:
        return Evidence(label, MISSING, "Scoping has not ended with a certificate of deletion.")
    if scoping_certificate_digest(found) != found.digest:
        return Evidence(label, FAILS, "The certificate's digest no longer matches what it records, so it "
                                      "has been changed since it was issued.", found.purged_at)
    keys = len(found.keys_destroyed or [])
    return Evidence(label, CURRENT, f"{sum(int(s.get('rows') or 0) for s in found.stores)} rows deleted and "
                                    f"{keys} key {'scope' if keys == 1 else 'scopes'} destroyed; the digest "
                                    "matches.", found.purged_at)


def scoping_classes(programme: Programme, now: datetime) -> Evidence:
    label = "The smallest group in the last scoping release"
    release = ScopingRelease.objects.filter(programme=programme).order_by("-released_at", "-pk").first()
    if release is None:
        ended = DeletionCertificate.objects.filter(programme=programme).first()
        if ended is not None:  # the releases and their checks go with the scoping data (ADR 39)
            return Evidence(label, CURRENT, "Scoping has ended: every release was deleted with its data, so "
                                            "nothing pseudonymised remains to check.", ended.purged_at)
        return Evidence(label, MISSING, "Nothing has been released for scoping.")
    k = release.report.get("k", settings.PORTAL_SCOPING_K)
    smallest = release.report.get("smallest_class")
    if smallest is None:
        return Evidence(label, CURRENT, "Every row was withheld: no woman's row was shared.", release.released_at)
    if smallest < k:
        return Evidence(label, FAILS, f"A group of {smallest} women was shared: fewer than the {k} "
                                      "every group must have.", release.released_at)
    return Evidence(label, CURRENT, f"The smallest group shared had {smallest} women (at least {k} required).",
                    release.released_at)


def agreement_in_force(programme: Programme, now: datetime) -> Evidence:
    label = "The data-sharing agreement in force"
    agreement = current_agreement(programme)
    if agreement is None:
        return Evidence(label, MISSING, "No data-sharing agreement has been confirmed.")
    return Evidence(label, CURRENT, f"Version {agreement.version}, confirmed by the Caldicott Guardian.",
                    agreement.decided_at)


def dpia_reviewed(programme: Programme, now: datetime) -> Evidence:
    label = "The DPIA's review"
    review = dpia_register.latest_review(programme)
    if review is None:
        return Evidence(label, MISSING, "No review of the DPIA is recorded, so nothing can be released.")
    when = datetime.combine(review.reviewed_on, time(12), tzinfo=timezone.get_current_timezone())
    if timezone.localdate(now) > review.next_review_on:
        return Evidence(label, FAILS, f"The review was due on {presenting.day(review.next_review_on)} and is not "
                                      "recorded: releases are refused until it is.", when)
    return Evidence(label, CURRENT, f"Reviewed on {presenting.day(review.reviewed_on)}; the next review is due on "
                                    f"{presenting.day(review.next_review_on)}.", when)


def two_step_sign_in(programme: Programme, now: datetime) -> Evidence:
    label = "Two-step sign-in for every active member"
    members = Membership.objects.filter(programme=programme, status=MembershipStatus.ACTIVE)
    people = set(members.values_list("person_id", flat=True))
    if not people:
        return Evidence(label, MISSING, "The programme has no active members.")
    enrolled = set(TOTPDevice.objects.filter(user_id__in=people, confirmed=True).values_list("user_id", flat=True))
    waiting = len(people - enrolled)
    if waiting:
        return Evidence(label, FAILS, f"{waiting} of {len(people)} active members have not set up two-step "
                                      "sign-in: they cannot reach any page until they do.", now)
    return Evidence(label, CURRENT, f"All {len(people)} active members have set up two-step sign-in.", now)


@dataclass(frozen=True)
class Promise:
    words: str  # the privacy notice's own words
    control: str  # what enforces it, in plain words, with where
    evidence: tuple[Callable[[Programme, datetime], Evidence], ...]


PROMISES = (
    Promise("Only those staff who need to do so will access your personal information.",
            "Each role sees only what its permissions allow, in its own programme; every page that shows a "
            "person's records is written to an audit trail whose entries are chained so that a change or "
            "a deletion is detected (decision records 14 and 23).",
            (audit_trail_verified,)),
    Promise("The Trust will take steps to ensure that your information is kept as safe as possible.",
            "Every sign-in needs a password and a code from an authenticator app; the case data is "
            "encrypted (decision records 21 and 22).",
            (two_step_sign_in,)),
    Promise("In phase one of the scoping exercise the personal data of individuals and families will only "
            "be shared between Sandwell Children's Trust and Pause for analysis and will be pseudonymised.",
            "Pause sees scoping rows only after a check that every combination of what is shown is shared "
            "by at least the minimum number of women (decision record 18).",
            (scoping_classes,)),
    Promise("The data will be deleted by Pause when the work is completed.",
            "When scoping ends its data is deleted, its keys destroyed and a certificate issued "
            "(decision records 22 and 39).",
            (scoping_data_deleted,)),
    Promise("Any personal data collected by Pause and shared with Sandwell Children's Trust will be retained "
            "in line with existing Social Care retention policies.",
            "A daily retention schedule deletes what the agreement's periods no longer allow, and each purge "
            "is certified (decision records 15, 38, 40 and 41).",
            (retention_ran, purge_certified)),
    Promise("Your personal information will be held and used in compliance with the requirements of all "
            "applicable legislation.",
            "Nothing is shared without a data-sharing agreement proposed by the Trust lead and confirmed by "
            "the Caldicott Guardian, nor once the DPIA's review date has passed (decision records 28, 31 and 48).",
            (agreement_in_force, dpia_reviewed)),
)


@dataclass(frozen=True)
class PromiseRow:
    promise: Promise
    evidence: list[Evidence]


def promises_of(programme: Programme, now: datetime) -> list[PromiseRow]:
    return [PromiseRow(p, [check(programme, now) for check in p.evidence]) for p in PROMISES]
