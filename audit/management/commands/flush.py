"""Django's flush, through the logged audit bypass (the test suite's transactional tests use it)."""

from django.core.management.commands.flush import Command as DjangoFlush

from audit.bypass import audit_bypass


class Command(DjangoFlush):
    def handle(self, **options):
        with audit_bypass("flush of every table", using=options["database"]):
            return super().handle(**options)
