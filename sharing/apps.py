from django.apps import AppConfig

from pause_portal import hooks


class SharingConfig(AppConfig):
    name = "sharing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The app's own modules are imported here, not at the top: Django loads apps.py before
        # any models module, and these import models.
        # Sharing acts on news from the layers below it through the kernel's named hooks (ADR 24).
        from sharing.audit_retention import longest_demand  # also registers its system check
        from sharing.disclosure import pause_disclosure
        from sharing.scoping_release import no_longer_releasable

        hooks.register(hooks.WOMAN_NO_LONGER_RELEASABLE, no_longer_releasable)
        hooks.register(hooks.PAUSE_DISCLOSURE, pause_disclosure)
        hooks.register(hooks.AUDIT_RETENTION_DEMAND, longest_demand)
