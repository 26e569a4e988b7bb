-- Two PostgreSQL roles for evalapp: the owner runs the migrations (it owns every table, trigger and
-- function); the application connects as the runtime role, which reads and writes rows and nothing
-- else. The runtime role cannot truncate, update or delete audit log entries, nor drop the triggers
-- that keep the log append-only: only the owner could, and the application never runs as the owner.
--
--   (cd / && sudo -u postgres psql -v ON_ERROR_STOP=1 -d evalapp -v owner=evalapp_owner -v runtime=evalapp \
--        -v schema=public) < /srv/evalapp/app/scripts/postgresql-roles.sql
--
-- Run it once after the first `flask db upgrade` (as the owner). The default privileges below cover
-- the tables later migrations create.
GRANT USAGE ON SCHEMA :"schema" TO :"runtime";
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA :"schema" TO :"runtime";
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA :"schema" TO :"runtime";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA :"schema"
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"runtime";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA :"schema"
    GRANT USAGE, SELECT ON SEQUENCES TO :"runtime";
-- The audit log only grows.
REVOKE UPDATE, DELETE, TRUNCATE ON :"schema".audit_entries FROM :"runtime";
