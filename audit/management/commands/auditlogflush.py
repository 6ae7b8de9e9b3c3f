from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Disabled: the audit trail is append-only. Expired periods go through purge_audit_retention."

    def handle(self, *args, **options):
        raise CommandError(
            "auditlogflush is disabled: audit entries are append-only. Whole expired retention "
            "periods are removed by `manage.py purge_audit_retention`, under the owner role, logged."
        )
