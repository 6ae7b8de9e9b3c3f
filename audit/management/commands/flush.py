"""Django's flush, through the logged audit bypass (the test suite's transactional tests use it).

CASCADE as well: django-auditlog's migrations create its own (unused, swapped-out) log table,
which references content types, so PostgreSQL refuses a TRUNCATE without it.
"""

from django.core.management.commands.flush import Command as DjangoFlush

from audit.core.bypass import audit_bypass


class Command(DjangoFlush):
    def handle(self, **options):
        options["allow_cascade"] = True
        with audit_bypass("flush of every table", using=options["database"]):
            return super().handle(**options)
