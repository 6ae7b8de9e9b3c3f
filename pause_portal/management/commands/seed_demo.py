"""Seed the demo: two synthetic programmes, a person for every role, and a synthetic case
extract for each programme imported through the real pipeline. Demo mode only.

Every name here is invented. Grants that need a second person are confirmed by a second
system administrator, exactly as in real use. The extracts come from ``eligibility.synthetic``
(seeded: every demo gets the same women, dated relative to the day it is seeded) and are imported by each programme's caseworker
with ``import_extract``, as an upload would be. Northbrook's is sized so that 150 or more women
are imported (a scoping release needs enough women to survive k-anonymity): 620 children and
~230 mothers, of whom the minimisation keeps ~165 and the default rules find ~45 eligible.
Westvale's is smaller (150 children, ~60 mothers, ~40 women imported).

So that every role's pages have data (issue 24, point 5): Westvale is released for delivery with
caseloads, contact and a safeguarding concern (`sharing.demo_delivery`); Northbrook's eligible
women are released for scoping (`sharing.demo_scoping`); Westvale's DPO has an access request and
a breach (`audit.oversight.demo_oversight`).
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.oversight.demo_oversight import seed_rights_and_breach
from eligibility.importing import import_extract
from eligibility.models import ExtractStatus
from eligibility.recompute import recompute
from eligibility.synthetic import ssd_upload
from pause_portal.tenancy.models import MembershipStatus, Organisation, Person, Programme
from pause_portal.tenancy.roles import OrganisationKind, Role
from sharing import actions
from sharing.demo_delivery import seed_agreement, seed_delivery
from sharing.demo_scoping import seed_scoping_release

DEMO_PASSWORD = "demo-portal-password"  # noqa: S105 - synthetic demo accounts only
DOMAIN = "demo.invalid"

ORGANISATIONS = {
    "Northbrook Children's Trust": OrganisationKind.TRUST,
    "Westvale Children's Trust": OrganisationKind.TRUST,
    "Pause Midlands": OrganisationKind.PAUSE,
}
PROGRAMMES = {
    "Northbrook scoping": ("Northbrook Children's Trust", "scoping"),
    "Westvale delivery": ("Westvale Children's Trust", "delivery"),
}
# email local part, full name, organisation, [(programme, role)]
PEOPLE = [
    ("admin", "Alex Adebayo", "Northbrook Children's Trust", []),
    ("admin2", "Sam Okonkwo-Hale", "Northbrook Children's Trust", []),
    ("caseworker", "Casey Lindqvist", "Northbrook Children's Trust", [("Northbrook scoping", Role.TRUST_CASEWORKER)]),
    ("lead", "Lee Marchetti", "Northbrook Children's Trust", [("Northbrook scoping", Role.TRUST_LEAD)]),
    ("lead2", "Lou Abernathy", "Northbrook Children's Trust", [("Northbrook scoping", Role.TRUST_LEAD)]),
    ("caldicott", "Cal Pemberton", "Northbrook Children's Trust", [("Northbrook scoping", Role.CALDICOTT_GUARDIAN)]),
    ("dpo", "Dee Raghunathan", "Northbrook Children's Trust", [("Northbrook scoping", Role.DPO)]),
    ("westvale.caseworker", "Wes Tamblyn", "Westvale Children's Trust", [("Westvale delivery", Role.TRUST_CASEWORKER)]),
    ("westvale.lead", "Val Kowalczyk", "Westvale Children's Trust", [("Westvale delivery", Role.TRUST_LEAD)]),
    ("westvale.caldicott", "Wyn Ashdown-Clare", "Westvale Children's Trust",
     [("Westvale delivery", Role.CALDICOTT_GUARDIAN)]),
    ("westvale.dpo", "Dara Fenwick", "Westvale Children's Trust", [("Westvale delivery", Role.DPO)]),
    ("pause.lead", "Pat Ogunleye", "Pause Midlands", [("Northbrook scoping", Role.PAUSE_LEAD), ("Westvale delivery", Role.PAUSE_LEAD)]),
    ("practitioner", "Prue Halloran", "Pause Midlands", [("Westvale delivery", Role.PAUSE_PRACTITIONER)]),
    ("practitioner2", "Pip Szabo", "Pause Midlands", [("Westvale delivery", Role.PAUSE_PRACTITIONER)]),
]
# programme: (the caseworker who imports, children in the extract (~0.37 mothers a child), seed)
EXTRACTS = {
    "Northbrook scoping": ("caseworker", 620, 1),
    "Westvale delivery": ("westvale.caseworker", 150, 2),
}


class Command(BaseCommand):
    help = "Seed synthetic organisations, programmes and a person for every role (demo mode only)."

    def handle(self, *args, **opts):
        if not settings.DEMO:
            raise CommandError("seed_demo runs only with PORTAL_ENV=demo: it creates accounts with a known password.")
        if Person.objects.exists():
            self.stdout.write("The demo is already seeded.")
            self._print_logins()
            return
        with transaction.atomic():
            programmes, people = self._seed()
            self._import_extracts(programmes, people)
            self._seed_governance_and_delivery(programmes, people)
        self._print_logins()

    def _seed(self) -> tuple[dict[str, Programme], dict[str, Person]]:
        orgs = {name: Organisation.objects.create(name=name, kind=kind) for name, kind in ORGANISATIONS.items()}
        programmes = {
            name: Programme.objects.create(name=name, trust=orgs[trust], pause_practice=orgs["Pause Midlands"], phase=phase)
            for name, (trust, phase) in PROGRAMMES.items()
        }
        people: dict[str, Person] = {}
        for local, full_name, org, _ in PEOPLE:
            by = people.get("admin")
            person = actions.add_person(email=f"{local}@{DOMAIN}", full_name=full_name, organisation=orgs[org], by=by)
            person.set_password(DEMO_PASSWORD)
            person.save(update_fields=["password"])
            TOTPDevice.objects.create(user=person, name="Demo authenticator", confirmed=True)
            people[local] = person
            if local == "admin":
                actions.make_system_admin(person=person, by=None)
            elif local == "admin2":
                actions.make_system_admin(person=person, by=people["admin"])
        for local, _, _, roles in PEOPLE:
            for programme_name, role in roles:
                membership = actions.request_role(
                    person=people[local], programme=programmes[programme_name], role=role, by=people["admin"]
                )
                if membership.status == MembershipStatus.PENDING:
                    actions.confirm_role(membership=membership, by=people["admin2"],
                                         justification="Demo: the role the synthetic programme needs.")
        return programmes, people

    def _import_extracts(self, programmes: dict[str, Programme], people: dict[str, Person]) -> None:
        today = timezone.localdate()
        for name, (local, children, seed) in EXTRACTS.items():
            files, _ = ssd_upload(children=children, seed=seed, today=today)
            extract = import_extract(programme=programmes[name], files=files, by=people[local], today=today)
            if extract.status != ExtractStatus.SUCCEEDED:
                raise CommandError(f"The synthetic extract for {name} was not imported: {extract.problems[:3]}")
            s = extract.summary
            self.stdout.write(
                f"{name}: synthetic extract imported by {local}@{DOMAIN}: {sum(s['rows_read'].values())} rows; "
                f"{s['women']['created']} women, {s['children']['created']} children, "
                f"{s['events']['legal_statuses']} legal statuses, {s['events']['care_episodes']} care episodes; "
                f"{s['people_left_out']} people left out, {sum(s['left_out'].values())} youth-justice rows not "
                f"imported, {s['warnings']} warnings."
            )
            run = recompute(programmes[name], by=people[local], reference_date=today).run
            self.stdout.write(f"{name}: proposals by rule set version {run.rule_set.version}: {run.summary}.")

    def _seed_governance_and_delivery(self, programmes: dict[str, Programme], people: dict[str, Person]) -> None:
        today = timezone.localdate()
        seed_agreement(programmes["Northbrook scoping"], lead=people["lead"], caldicott=people["caldicott"], today=today)
        westvale = programmes["Westvale delivery"]
        seed_agreement(westvale, lead=people["westvale.lead"], caldicott=people["westvale.caldicott"], today=today)
        released = seed_delivery(westvale, caseworker=people["westvale.caseworker"], lead=people["westvale.lead"],
                                 practitioners=[people["practitioner"], people["practitioner2"]],
                                 pause_lead=people["pause.lead"], today=today)
        self.stdout.write("Both programmes: data-sharing agreement version 1 proposed by the Trust lead and "
                          "confirmed by the Caldicott Guardian.")
        self.stdout.write(f"Westvale delivery: {len(released)} women decided eligible and released to Pause; "
                          "caseloads assigned, contact recorded and one safeguarding concern raised.")
        northbrook = programmes["Northbrook scoping"]
        release = seed_scoping_release(northbrook, caseworker=people["caseworker"], lead=people["lead"], today=today)
        self.stdout.write(f"Northbrook scoping: {release.women} women decided eligible and released to Pause for "
                          f"scoping; {release.report['served']} rows served after the k-anonymity check.")
        request, breach = seed_rights_and_breach(westvale, dpo=people["westvale.dpo"],
                                                 checked_by=people["westvale.caseworker"],
                                                 woman=released[2].woman, today=today)
        self.stdout.write(f"Westvale delivery: rights request {request.reference} (access) and breach "
                          f"{breach.reference} recorded by the DPO.")

    def _print_logins(self) -> None:
        w = self.stdout.write
        w("")
        w("Demo accounts (synthetic). Password for every account: " + DEMO_PASSWORD)
        w("Two-step sign-in: each account has a demo authenticator. Get its current 6-digit code with")
        w("    make demo-code EMAIL=<email>      (or: PORTAL_ENV=demo .venv/bin/python manage.py demo_code <email>)")
        w("or add the account to any authenticator app with the setup key shown by `demo_code --key`.")
        w("")
        for local, _name, _org, roles in PEOPLE:
            described = ", ".join(f"{r.label} ({p})" for p, r in roles) or "System administrator"
            w(f"  {local + '@' + DOMAIN:<34} {described}")
        w("")
