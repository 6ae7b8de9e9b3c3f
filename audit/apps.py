from django.apps import AppConfig
from django.db.models.signals import post_migrate

from pause_portal import hooks


class AuditConfig(AppConfig):
    name = "audit"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The app's own modules are imported here, not at the top: Django loads apps.py before
        # any models module, and these import models.
        from audit.core import receivers  # noqa: F401
        from audit.core.db_roles import grant_application_role
        from audit.core.log import session_expired
        from audit.core.registration import register_audited_models

        register_audited_models()
        # The audit core writes the entries the kernel's hooks announce (ADR 24).
        hooks.register(hooks.SESSION_EXPIRED, session_expired)
        post_migrate.connect(grant_application_role, sender=self, dispatch_uid="audit_grant_app_role")
