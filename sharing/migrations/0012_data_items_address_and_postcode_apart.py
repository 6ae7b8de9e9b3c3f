"""Address and postcode become separate data items (issue 21, point 1; ADR 28).

Every stored agreement version (of any status) whose delivery items hold the old combined item
`address_postcode` ("Women: address and postcode") gets BOTH new items in its place: `postcode`
and `contact_address`. What the Caldicott Guardian agreed is unchanged — the one item always
meant both fields — so no programme silently loses a field when the items start to drive what
Pause is served. Nothing else is added: an item no version named (for example the new
`age_at_first_removal`) is not served until a version naming it is confirmed.

Each version rewritten is recorded in the audit trail (the application's own writer, as sharing
0007 does; only on a database holding such a version, so a new database never runs it).

Reversing puts the combined item back where both new items stand (and drops a lone one of them,
which the old vocabulary could not say).
"""

from django.db import migrations

OLD = "address_postcode"
NEW = ("postcode", "contact_address")
DELIVERY_ORDER = ("name", "date_of_birth", "postcode", "contact_address", "trust_contact", "child_delivery_tokens",
                  "child_year_of_birth", "child_removal_year", "child_outcome")


def split(apps, schema_editor):
    Agreement = apps.get_model("sharing", "Agreement")
    for agreement in Agreement.objects.all().order_by("pk"):
        items = dict(agreement.data_items or {})
        delivery = list(items.get("delivery") or [])
        if OLD not in delivery:
            continue
        wanted = (set(delivery) - {OLD}) | set(NEW)
        items["delivery"] = [c for c in DELIVERY_ORDER if c in wanted] + sorted(wanted - set(DELIVERY_ORDER))
        agreement.data_items = items
        agreement.save(update_fields=["data_items"])
        _audit(agreement, f"data-sharing agreement version {agreement.version}: the delivery item 'address and "
                          "postcode' is now the two items 'postcode' and 'contact address' (issue 21)")


def _audit(agreement, reason: str) -> None:
    from audit.core.log import record_event
    from audit.core.models import Event

    record_event(Event.CHANGE, target=agreement, programme=agreement.programme, action=1, reason=reason)


def join(apps, schema_editor):
    Agreement = apps.get_model("sharing", "Agreement")
    for agreement in Agreement.objects.all().order_by("pk"):
        items = dict(agreement.data_items or {})
        delivery = list(items.get("delivery") or [])
        if not set(NEW) & set(delivery):
            continue
        both = set(NEW) <= set(delivery)
        kept = []
        for c in delivery:  # the combined item where the first of the two stood
            if c not in NEW:
                kept.append(c)
            elif both and OLD not in kept:
                kept.append(OLD)
        items["delivery"] = kept
        agreement.data_items = items
        agreement.save(update_fields=["data_items"])


class Migration(migrations.Migration):
    dependencies = [
        ("sharing", "0011_privacy_notices"),
        ("audit", "0010_append_only_owner_bypass"),
    ]

    operations = [migrations.RunPython(split, join)]
