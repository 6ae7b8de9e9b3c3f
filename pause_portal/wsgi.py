import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pause_portal.settings")
application = get_wsgi_application()

# gunicorn runs no system checks: the one that reads the database is run here, so a deployment
# keeping the audit trail for less than a live agreement asks refuses to serve (ADR 40).
from sharing.audit_retention import refuse_to_start_if_too_short  # noqa: E402 (needs the apps ready)

refuse_to_start_if_too_short()
