from django.apps import AppConfig


class PseudonymisationConfig(AppConfig):
    """Key custody, keyed tokens, blind indexes, field encryption, generalisation and disclosure
    control. A leaf: it imports no other app of ours and knows no roles."""

    name = "pseudonymisation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from pseudonymisation import checks  # noqa: F401 - registers the system check
