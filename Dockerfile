# The portal's production image: gunicorn on 0.0.0.0:8000 (inside the container), as a non-root user.
# docker-compose.yml runs the same image as web, worker, beat and the one-shot migrate.
# Build: docker-compose build   (or: docker build -t pause-portal .)

ARG PYTHON_IMAGE=python:3.11-slim

# --- build: dependencies from the hash-locked runtime lock, the app, and its static files --------
FROM ${PYTHON_IMAGE} AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH

COPY requirements.lock /tmp/requirements.lock
RUN python -m venv /opt/venv \
 && pip install --require-hashes -r /tmp/requirements.lock

WORKDIR /app
# Only what the app runs: no tests, var/, secrets/, .venv or .git (see docs/deployment.md).
COPY manage.py ./
COPY pause_portal/ ./pause_portal/
COPY audit/ ./audit/
COPY eligibility/ ./eligibility/
COPY pseudonymisation/ ./pseudonymisation/
COPY sharing/ ./sharing/
COPY templates/ ./templates/

# collectstatic under production settings (the manifest storage only runs there). Settings refuse
# to load without every secret, so this RUN makes throwaway values that live only in this one shell:
# nothing is written to ENV, and this stage is not part of the final image.
RUN set -eu; \
    rand() { python -c 'import secrets; print(secrets.token_urlsafe(48))'; }; \
    export PORTAL_ENV=production PORTAL_VAR_DIR=/app/var PORTAL_ALLOWED_HOSTS=build.invalid; \
    export DATABASE_URL="postgres://build:unused@127.0.0.1:9/build"; \
    export REDIS_URL="redis://:$(rand)@127.0.0.1:9/0"; \
    export SECRET_KEY="$(rand)"; \
    export PORTAL_TOKEN_SECRET="$(rand)" PORTAL_ENCRYPTION_SECRET="$(rand)"; \
    export PORTAL_BLIND_INDEX_SECRET="$(rand)" PORTAL_AUDIT_CHAIN_SECRET="$(rand)"; \
    export PORTAL_KEY_STORE_DIR=/nonexistent/key-store; \
    python manage.py collectstatic --no-input -v 1; \
    test -f /app/var/staticfiles/staticfiles.json; \
    test ! -e /app/var/keys; \
    find /app -name __pycache__ -prune -exec rm -rf {} +; \
    python -m compileall -q /app

# --- runtime --------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PORTAL_ENV=production \
    PORTAL_VAR_DIR=/app/var \
    DJANGO_SETTINGS_MODULE=pause_portal.settings \
    HOME=/app

# A fixed uid/gid, so mounted secret files (mode 600) can be chowned to it on the host.
RUN groupadd --system --gid 10001 portal \
 && useradd --system --uid 10001 --gid portal --home-dir /app --no-create-home \
            --shell /usr/sbin/nologin portal

# The key store's mount point (docker-compose's `key-store` volume): a named volume starts with
# this folder's owner and mode, so only the portal's user can read or write the scope secrets.
RUN install -d -o 10001 -g 10001 -m 700 /var/lib/portal-key-store
# Uploads in flight (encrypted as they arrive): written by web, read by the worker, on one shared
# volume (docker-compose `uploads`); the root filesystem is read-only.
RUN install -d -o 10001 -g 10001 -m 700 /var/lib/portal-uploads
# The audit checkpoints' folder store (docker-compose `audit-checkpoints`): a named volume starts
# with this folder's owner, so the sealer (uid 10001) can write its write-once files there.
RUN install -d -o 10001 -g 10001 -m 700 /var/lib/portal-audit-checkpoints

COPY --from=build /opt/venv /opt/venv
# Owned by root and not writable by the portal user; the app writes nothing to disk in production.
COPY --from=build /app /app
WORKDIR /app

USER 10001:10001
EXPOSE 8000

# /healthz checks the database and the broker. The check sends the first allowed host name (the
# settings refuse any other Host) and X-Forwarded-Proto (else the SSL redirect answers 301), and
# never follows a redirect, so only a 200 from this container counts.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os,sys,urllib.request as u; N=type('N',(u.HTTPRedirectHandler,),{'redirect_request':lambda *a,**k:None}); h=(os.environ.get('PORTAL_ALLOWED_HOSTS') or 'localhost').split(',')[0].strip(); r=u.build_opener(u.ProxyHandler({}),N).open(u.Request('http://127.0.0.1:8000/healthz',headers={'Host':h,'X-Forwarded-Proto':'https'}),timeout=5); sys.exit(0 if r.status==200 else 1)"]

# Workers: WEB_CONCURRENCY (gunicorn reads it; docker-compose.yml sets it).
CMD ["gunicorn", "pause_portal.wsgi:application", \
     "--bind", "0.0.0.0:8000", \
     "--worker-tmp-dir", "/dev/shm", \
     "--no-control-socket", \
     "--access-logfile", "-", \
     "--timeout", "60", \
     "--graceful-timeout", "30"]
