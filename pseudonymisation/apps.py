from django.apps import AppConfig


class PseudonymisationConfig(AppConfig):
    """Key custody, keyed tokens, blind indexes, field encryption (arrive with their issue).
    A leaf: it imports no other app of ours."""

    name = "pseudonymisation"
    default_auto_field = "django.db.models.BigAutoField"
