from django.apps import AppConfig


class SharingConfig(AppConfig):
    name = "sharing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Sharing acts on news from the layers below it through the kernel's named hooks (ADR 24).
        from pause_portal import hooks
        from sharing.scoping_release import no_longer_releasable

        hooks.register(hooks.WOMAN_NO_LONGER_RELEASABLE, no_longer_releasable)
