#!/bin/sh
# Make the production stack's secret files in ./secrets/ (gitignored): one random value a file,
# mode 600. A file that already exists is never overwritten, so running this again is safe.
#
#   ./deploy/make-secrets.sh            # then, unless run as root, the chown it prints
#   sudo ./deploy/make-secrets.sh       # makes the files and gives them to the containers' users
#
# Compose mounts each file at /run/secrets/<name> as it is on the host (a bind mount: same owner,
# same mode), so a mode-600 file must be owned by the uid that reads it in its container:
#   uid 10001 (the portal image's user): the app's secrets, redis_url and the two pgpass files;
#   uid 999   (postgres in postgres:15): portal_app_db_password, read by the init script;
#   root:     postgres_owner_password and redis_password, read by those images' entrypoints.
# PORTAL_SECRETS_DIR, PORTAL_APP_UID and POSTGRES_UID change the folder and the two uids.
set -eu
umask 077

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DIR="${PORTAL_SECRETS_DIR:-$ROOT/secrets}"
APP_UID="${PORTAL_APP_UID:-10001}"
PG_UID="${POSTGRES_UID:-999}"

# Fixed by docker-compose.yml: the two roles and the service names the URLs point at.
OWNER_ROLE=portal_owner
APP_ROLE=portal_app

APP_FILES="secret_key portal_token_secret portal_encryption_secret portal_blind_index_secret portal_audit_chain_secret redis_url owner_pgpass app_pgpass"
PG_FILES="portal_app_db_password"
ROOT_FILES="postgres_owner_password redis_password"

if [ -d "$DIR" ] && { [ ! -w "$DIR" ] || [ ! -x "$DIR" ]; }; then
    echo "make-secrets: $DIR is not yours to write: run this with sudo." >&2
    exit 1
fi
# Files already given to the containers' users can only be checked by root.
for name in $APP_FILES $PG_FILES $ROOT_FILES; do
    if [ -e "$DIR/$name" ] && [ ! -r "$DIR/$name" ]; then
        echo "make-secrets: secrets/$name exists but you cannot read it (given to a container's user?): run this with sudo." >&2
        exit 1
    fi
done
mkdir -p "$DIR"
if [ -O "$DIR" ]; then chmod 700 "$DIR"; fi

random() {
    python3 -c 'import secrets;print(secrets.token_urlsafe(48))'
}

# put NAME CONTENT: write CONTENT to DIR/NAME unless it exists (noclobber: never overwrite).
put() {
    if [ -e "$DIR/$1" ]; then
        echo "kept     secrets/$1 (exists)"
        return 0
    fi
    ( set -C; printf '%s\n' "$2" > "$DIR/$1" )
    chmod 600 "$DIR/$1"
    echo "created  secrets/$1"
}

value() {
    tr -d '\r\n' < "$DIR/$1"
}

# The random values.
for name in secret_key portal_token_secret portal_encryption_secret portal_blind_index_secret \
            portal_audit_chain_secret postgres_owner_password portal_app_db_password redis_password; do
    if [ -e "$DIR/$name" ]; then
        echo "kept     secrets/$name (exists)"
        continue
    fi
    v="$(random)"
    [ "${#v}" -ge 32 ] || { echo "make-secrets: could not generate a random value" >&2; exit 1; }
    put "$name" "$v"
done

# Derived from the passwords above, in the forms the app reads:
#   redis_url: REDIS_URL_FILE (settings read it like any secret);
#   owner_pgpass, app_pgpass: libpq password files (PGPASSFILE), so DATABASE_URL carries no password.
# token_urlsafe values hold no ':' or '\', so they need no escaping in either form.
put redis_url "redis://:$(value redis_password)@redis:6379/0"
put owner_pgpass "postgres:5432:*:$OWNER_ROLE:$(value postgres_owner_password)"
put app_pgpass "postgres:5432:*:$APP_ROLE:$(value portal_app_db_password)"

# A derived file made earlier from a password since replaced would lock the app out: say so.
check() {
    if ! grep -qF -- "$(value "$2")" "$DIR/$1"; then
        echo "WARNING: secrets/$1 does not match secrets/$2: delete secrets/$1 and run this again." >&2
    fi
}
check redis_url redis_password
check owner_pgpass postgres_owner_password
check app_pgpass portal_app_db_password

for name in $APP_FILES $PG_FILES $ROOT_FILES; do
    chmod 600 "$DIR/$name"
done

if [ "$(id -u)" = 0 ]; then
    for name in $APP_FILES; do chown "$APP_UID:$APP_UID" "$DIR/$name"; done
    for name in $PG_FILES; do chown "$PG_UID:$PG_UID" "$DIR/$name"; done
    for name in $ROOT_FILES; do chown 0:0 "$DIR/$name"; done
    echo "owners set: uid $APP_UID (app), uid $PG_UID (postgres), root (entrypoints)."
else
    echo
    echo "Not root, so the files are still yours. Give them to the containers' users before starting:"
    echo "  sudo chown $APP_UID:$APP_UID $(for n in $APP_FILES; do printf '%s ' "$DIR/$n"; done)"
    echo "  sudo chown $PG_UID:$PG_UID $DIR/$PG_FILES"
    echo "(or run this script again with sudo: it keeps every existing value)."
fi
