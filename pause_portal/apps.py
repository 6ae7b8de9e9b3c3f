from django.apps import AppConfig


class PausePortalConfig(AppConfig):
    name = "pause_portal"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from pause_portal import admin_site

        admin_site.install()
