from django.apps import AppConfig


class TestappConfig(AppConfig):
    """The test suite's own record model, for testing the disclosure policy before real records exist."""

    name = "tests.testapp"
    label = "testapp"
    default_auto_field = "django.db.models.BigAutoField"
