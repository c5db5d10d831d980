#!/bin/sh
# Runs once, when the postgres container initialises an empty data directory (docker-entrypoint-initdb.d).
# Creates the two roles of docs/security.md ("Database roles"):
#   klear_owner  owns the schema; only the one-shot `migrate` service logs in as it.
#   klear_app    the API and the worker: reads and writes rows, owns nothing, so it cannot ALTER,
#                DROP, TRUNCATE or DISABLE TRIGGER; not a superuser, so no session_replication_role.
# The superuser (POSTGRES_USER) is used by nothing but this script and the healthcheck.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v owner_password="$KLEAR_OWNER_PASSWORD" -v app_password="$KLEAR_APP_PASSWORD" -v db="$POSTGRES_DB" <<'SQL'
CREATE ROLE klear_owner LOGIN PASSWORD :'owner_password' NOSUPERUSER NOCREATEDB NOCREATEROLE;
CREATE ROLE klear_app LOGIN PASSWORD :'app_password' NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
ALTER DATABASE :"db" OWNER TO klear_owner;
ALTER SCHEMA public OWNER TO klear_owner;
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"db" TO klear_owner, klear_app;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SQL
