#!/bin/bash
# The postgres image runs this once, when it initialises an empty data directory, as the postgres
# user (uid 999) against its temporary socket-only server. It makes the second database role.
#
# - The owner, POSTGRES_USER (portal_owner), owns the database and the public schema, runs
#   `manage.py migrate` and the logged retention purge. (The image makes it a superuser.)
# - The application role, PORTAL_APP_DB_ROLE (portal_app), is what web, worker and beat log in as:
#   LOGIN and nothing else here. It cannot create tables; its table privileges are granted after
#   every migrate by audit.db_roles (SELECT, INSERT, UPDATE, DELETE on the portal's tables, only
#   SELECT and INSERT on the audit tables).
#
# Its password comes from the file PORTAL_APP_DB_PASSWORD_FILE (a compose secret).
# Safe to run again: the role is created if missing and its attributes and password (re)set.
# The whole body runs in a subshell, so it behaves the same whether the entrypoint executes or
# sources it.
(
    set -euo pipefail

    app_role="${PORTAL_APP_DB_ROLE:-portal_app}"
    password_file="${PORTAL_APP_DB_PASSWORD_FILE:-/run/secrets/portal_app_db_password}"

    if [ ! -r "$password_file" ]; then
        echo "01-roles.sh: cannot read $password_file as uid $(id -u)." >&2
        echo "  It is a mode-600 bind mount: on the host, chown it to uid $(id -u) (deploy/make-secrets.sh" >&2
        echo "  does this when run as root), remove the postgres-data volume, and start again." >&2
        exit 1
    fi
    length="$(tr -d '\r\n' < "$password_file" | wc -c)"
    if [ "$length" -lt 32 ]; then
        echo "01-roles.sh: $password_file holds fewer than 32 characters." >&2
        exit 1
    fi

    # The password reaches psql through a backquoted \set that reads the file, never through argv.
    psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet \
        --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
        --set app_role="$app_role" --set owner="$POSTGRES_USER" --set db="$POSTGRES_DB" \
        --set password_file="$password_file" <<'SQL'
\set app_password `tr -d '\r\n' < :'password_file'`

SELECT format('CREATE ROLE %I', :'app_role')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'app_role') \gexec

ALTER ROLE :"app_role" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
    PASSWORD :'app_password';
\unset app_password

-- Only the owner and the application role may connect; no temporary tables for anyone else.
-- The application role needs temporary tables: an import stages its rows in session-private
-- temporary tables before moving them into the real ones (docs/adr/0009).
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"db" TO :"app_role";

-- Nobody but the owner creates objects in public (PostgreSQL 15's default too; said explicitly).
ALTER SCHEMA public OWNER TO :"owner";
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO :"app_role";
SQL

    echo "01-roles.sh: role $app_role ready (LOGIN; no CREATE on schema public)."
)
