"""Settings for the gunicorn that `bench/load.py` starts, and nothing else: the portal's own
settings (PORTAL_ENV from the environment), a URLconf that adds the benchmark's baseline page
beside every product URL, and database connections kept per worker as production keeps them.
Nothing here changes what the product audits."""

from pause_portal.settings import *  # noqa: F403
from pause_portal.settings import DATABASES

ROOT_URLCONF = "bench.load_urls"
DATABASES["default"]["CONN_MAX_AGE"] = 60  # as in production (dj_database_url conn_max_age=60)
