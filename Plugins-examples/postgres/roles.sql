-- The privileges of the snaporch role on PostgreSQL 15 (verified one by one):
--   pg_checkpoint           CHECKPOINT (checkpoint mode)
--   pg_read_all_settings    SHOW data_directory (the frozen-set check)
--   EXECUTE pg_backup_*     backup mode; granted per database: run this in the database snaporch connects to
CREATE ROLE snaporch_backup NOLOGIN;
GRANT pg_checkpoint, pg_read_all_settings TO snaporch_backup;
GRANT EXECUTE ON FUNCTION pg_backup_start(text, boolean) TO snaporch_backup;
GRANT EXECUTE ON FUNCTION pg_backup_stop(boolean) TO snaporch_backup;
CREATE ROLE snaporch LOGIN IN ROLE snaporch_backup;
-- peer authentication as the OS user root or postgres (pg_ident.conf):  snaporch  root  snaporch
