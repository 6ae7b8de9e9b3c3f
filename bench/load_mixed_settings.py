"""Settings for the processes `bench/load_mixed.py` starts (gunicorn, the Celery worker, the
manage.py commands it runs) and for the benchmark itself: the portal's own settings in test mode,
except that tasks go to a real worker over Redis (the test settings run them eagerly, inside the
request), and database connections are kept per worker as production keeps them. Nothing here
changes what the product audits."""

from pause_portal.settings import *  # noqa: F403
from pause_portal.settings import DATABASES

CELERY_TASK_ALWAYS_EAGER = False
DATABASES["default"]["CONN_MAX_AGE"] = 60  # as in production (dj_database_url conn_max_age=60)
