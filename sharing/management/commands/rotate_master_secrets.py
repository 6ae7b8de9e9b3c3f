from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from audit.core.log import record_event
from audit.core.models import Event
from pause_portal.secrets import read_secret
from pseudonymisation import custody, keys
from pseudonymisation.models import Purpose


def new_secret_name(purpose: Purpose) -> str:
    """PORTAL_TOKEN_SECRET's replacement is read from PORTAL_NEW_TOKEN_SECRET (or ..._FILE)."""
    return keys.MASTER_SECRET_OF[purpose].replace("PORTAL_", "PORTAL_NEW_", 1)


class Command(BaseCommand):
    help = (
        "Re-wrap every live data key under new master secrets, read from PORTAL_NEW_TOKEN_SECRET, "
        "PORTAL_NEW_ENCRYPTION_SECRET and PORTAL_NEW_BLIND_INDEX_SECRET (or each NAME_FILE), in one "
        "transaction, each key checked to unwrap under its new secret before the commit. Stop the portal "
        "first; afterwards run it on the new secrets and destroy the old ones and their backups, so that "
        "wrapped keys left in dead rows, WAL and backups (those of scopes destroyed before per-scope "
        "secrets among them) can no longer be unwrapped. docs/deployment.md has the steps."
    )

    def handle(self, *args, **opts):
        new = {}
        for purpose in Purpose:
            try:
                value = read_secret(new_secret_name(purpose))
            except ImproperlyConfigured as exc:
                raise CommandError(str(exc)) from exc
            if value:
                new[purpose] = value
        if not new:
            raise CommandError("Give at least one new master secret: " + ", ".join(
                f"{new_secret_name(p)} (or {new_secret_name(p)}_FILE)" for p in Purpose) + ".")
        try:
            done = custody.rotate_master_secrets(new)
        except custody.RotationRefused as exc:
            raise CommandError(str(exc)) from exc
        summary = "; ".join(f"{keys.MASTER_SECRET_OF[p]}: {n} live key version(s) re-wrapped" for p, n in done.items())
        record_event(Event.CHANGE, actor=None, action=1, reason=f"master secrets rotated: {summary}")
        self.stdout.write(summary + ".")
        self.stdout.write(
            "Now replace " + ", ".join(keys.MASTER_SECRET_OF[p] for p in done) + " with the new secrets, start "
            "the portal, and destroy the old secrets and every backup of them.")
