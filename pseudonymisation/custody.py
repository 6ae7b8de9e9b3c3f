"""Key custody beyond ordinary use (ADR 22): rotating the master secrets, vacuuming destroyed
keys' dead row versions out of the key table's file, and the facts a deletion certificate states
about a destroyed scope.

Why a master rotation: a copy of a wrapped key that the database cannot forget (a dead row
version, the WAL, a backup) unwraps for as long as every secret it was wrapped under exists.
Keys wrapped under the master secret alone (before ADR 22), including those of scopes already
destroyed then, stay recoverable until the master secret is replaced and the old one destroyed.
`rotate_master_secrets` re-wraps every live key under new master secrets, so the old ones can go.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import DatabaseError, connections, transaction
from django.db.models import Max
from django.utils import timezone

from pseudonymisation import keys
from pseudonymisation.errors import MasterSecretMissing, PseudonymisationError
from pseudonymisation.models import CustodyEvent, DataKey, KeyCustodyRecord, Purpose, Wrapping

MIN_SECRET_LENGTH = 32
VACUUM_LOCK_TIMEOUT = "10s"  # never queue every key load behind a long transaction for longer


class RotationRefused(PseudonymisationError):
    """The new master secrets are unusable, or a live key does not unwrap: nothing was changed."""


def rotate_master_secrets(new: dict[Purpose, str]) -> dict[Purpose, int]:
    """Re-wrap every live key of each purpose in `new` under that new master secret (and the
    scope's secret, unchanged), in one transaction. Before committing, every live key is read
    back from the table and must unwrap under the new secret to the key it held before;
    otherwise nothing is changed. Returns how many keys each purpose re-wrapped.

    Afterwards the portal must run with the new secrets: stop it first, and destroy the old
    secrets (and their backups) once it runs on the new ones."""
    new = {Purpose(purpose): secret for purpose, secret in new.items()}
    if not new:
        raise RotationRefused("No new master secret given: nothing to rotate.")
    new_secrets = {}
    for purpose, secret in new.items():
        name = keys.MASTER_SECRET_OF[purpose]
        if len(secret or "") < MIN_SECRET_LENGTH:
            raise RotationRefused(f"The new {name} is shorter than {MIN_SECRET_LENGTH} characters.")
        try:
            if keys.master_secret(purpose) == secret.encode():
                raise RotationRefused(f"The new {name} is the current one: a rotation needs a new secret.")
        except MasterSecretMissing as exc:
            raise RotationRefused(f"The current {name} is not configured: the live keys cannot be read.") from exc
        new_secrets[name] = secret
    done = dict.fromkeys(new, 0)
    master_only: set[keys.KeyScope] = set()
    now = timezone.now()
    with transaction.atomic():
        rows = list(DataKey.objects.select_for_update().filter(destroyed_at__isnull=True, purpose__in=list(new))
                    .order_by("pk"))
        held = {}
        for row in rows:
            scope = keys.KeyScope(row.programme_id, row.phase, Purpose(row.purpose))
            try:
                key = keys.unwrap(scope, row.version, bytes(row.wrapped_key), wrapping=row.wrapping)
                if row.wrapping == Wrapping.MASTER_ONLY:
                    keys.scope_secret(scope, create=True)
                    master_only.add(scope)
                rewrapped = keys.wrap(scope, row.version, key, secrets=new_secrets)
            except PseudonymisationError as exc:
                raise RotationRefused(f"{scope.label()} v{row.version}: {exc} Nothing was changed.") from exc
            DataKey.objects.filter(pk=row.pk).update(wrapped_key=rewrapped, wrapping=Wrapping.MASTER_AND_SCOPE_SECRET)
            held[row.pk] = key
            done[scope.purpose] += 1
        for row in DataKey.objects.filter(pk__in=list(held)):  # as stored, before the commit
            scope = keys.KeyScope(row.programme_id, row.phase, Purpose(row.purpose))
            try:
                unwrapped = keys.unwrap(scope, row.version, bytes(row.wrapped_key), secrets=new_secrets)
            except PseudonymisationError as exc:
                raise RotationRefused(f"{scope.label()} v{row.version} does not unwrap under the new secret: "
                                      f"{exc} Nothing was changed.") from exc
            if unwrapped != held[row.pk]:
                raise RotationRefused(f"{scope.label()} v{row.version} unwraps to another key under the new "
                                      "secret. Nothing was changed.")
        for scope in sorted(master_only, key=keys.KeyScope.label):  # copies under the old master alone exist
            KeyCustodyRecord.objects.create(at=now, event=CustodyEvent.LEGACY_REWRAPPED, scope=scope.label(),
                                            purpose=scope.purpose, keys=_rows_of(scope, held))
        for purpose, count in done.items():
            KeyCustodyRecord.objects.create(at=now, event=CustodyEvent.MASTER_ROTATED, purpose=purpose, keys=count)
    return done


def _rows_of(scope: keys.KeyScope, pks) -> int:
    return keys._rows(scope).filter(pk__in=list(pks)).count()


@dataclass(frozen=True)
class VacuumOutcome:
    done: bool
    at: str  # ISO time it was done or tried
    how: str  # the statement
    why_not: str = ""

    def as_dict(self) -> dict:
        return {"done": self.done, "at": self.at, "how": self.how, "why_not": self.why_not}


def vacuum_key_table(using: str = "default") -> VacuumOutcome:
    """Rewrite the key table so the dead row versions that still hold destroyed keys' wrapped
    bytes leave its file: `VACUUM FULL` of the table on PostgreSQL (it needs the table's owner,
    and takes the table's lock for as long as it runs: a few rows, but it waits at most
    VACUUM_LOCK_TIMEOUT for the lock), `VACUUM` of the whole file on SQLite. Neither can run
    inside a transaction. Says honestly when it was not done, and why."""
    connection = connections[using]
    table = DataKey._meta.db_table
    at = timezone.now().isoformat()
    if connection.vendor == "postgresql":
        how = f"VACUUM FULL {table}"
    elif connection.vendor == "sqlite":
        how = "VACUUM (SQLite: the whole database file)"
    else:  # pragma: no cover - the portal runs on these two
        return VacuumOutcome(False, at, "VACUUM", f"not supported on {connection.vendor}")
    if connection.in_atomic_block:
        return VacuumOutcome(False, at, how, "it was asked for inside a transaction, where it cannot run")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A VACUUM FULL by anyone but the table's owner is skipped with a mere warning: the
            # proof that it ran is the table's new file (a new filenode).
            cursor.execute("SELECT pg_relation_filenode(c.oid), pg_get_userbyid(c.relowner), current_user "
                           "FROM pg_class c WHERE c.oid = %s::regclass", [table])
            before, owner, user = cursor.fetchone()
            try:
                cursor.execute(f"SET lock_timeout = '{VACUUM_LOCK_TIMEOUT}'")
                cursor.execute(f"VACUUM (FULL) {connection.ops.quote_name(table)}")
            except DatabaseError as exc:
                return VacuumOutcome(False, at, how, f"the database refused: {str(exc).strip()}")
            finally:
                cursor.execute("RESET lock_timeout")
            cursor.execute("SELECT pg_relation_filenode(%s::regclass)", [table])
            if cursor.fetchone()[0] == before:
                return VacuumOutcome(False, at, how, (
                    f"the database user {user} is not the owner of {table} ({owner}), and only its owner may "
                    f"VACUUM FULL it: run manage.py vacuum_key_table as {owner}"))
        else:
            try:
                cursor.execute("VACUUM")
            except DatabaseError as exc:
                return VacuumOutcome(False, at, how, f"the database refused: {str(exc).strip()}")
    return VacuumOutcome(True, timezone.now().isoformat(), how)


def destruction_facts(scope: keys.KeyScope) -> dict:
    """What is known about a destroyed scope's keys, for its deletion certificate: how many
    versions, when destroyed, when its secret left the key store (None: not yet, or it never had
    one), and when copies wrapped under the master secret alone were last made (None: never),
    with the last rotation of that master secret after them."""
    rows = keys._rows(scope)
    destroyed = rows.filter(destroyed_at__isnull=False)
    records = KeyCustodyRecord.objects.filter(scope=scope.label())
    deleted = records.filter(event=CustodyEvent.SCOPE_SECRET_DELETED).order_by("at").first()
    master_only_until = None
    if destroyed.filter(wrapping=Wrapping.MASTER_ONLY).exists():  # destroyed before ADR 22
        master_only_until = destroyed.aggregate(at=Max("destroyed_at"))["at"]
    rewrapped = records.filter(event=CustodyEvent.LEGACY_REWRAPPED).aggregate(at=Max("at"))["at"]
    if rewrapped and (master_only_until is None or rewrapped > master_only_until):
        master_only_until = rewrapped
    rotated = None
    if master_only_until is not None:
        rotated = (KeyCustodyRecord.objects.filter(event=CustodyEvent.MASTER_ROTATED, purpose=scope.purpose,
                                                   at__gte=master_only_until).aggregate(at=Max("at"))["at"])
    return {
        "scope": scope.label(),
        "versions": destroyed.count(),
        "destroyed_at": destroyed.aggregate(at=Max("destroyed_at"))["at"],
        "secret_in_store": keys.key_store().read(scope.label()) is not None,
        "secret_deleted_at": deleted.at if deleted else None,
        "master_secret": keys.MASTER_SECRET_OF[scope.purpose],
        "master_only_copies_until": master_only_until,
        "master_rotated_since": rotated,
    }
