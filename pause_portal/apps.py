from django.apps import AppConfig


class PausePortalConfig(AppConfig):
    name = "pause_portal"
    default_auto_field = "django.db.models.BigAutoField"
