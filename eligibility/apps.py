from django.apps import AppConfig


class EligibilityConfig(AppConfig):
    """Imported records, the import pipeline, the rule set and decisions (arrive with the import issue)."""

    name = "eligibility"
    default_auto_field = "django.db.models.BigAutoField"
