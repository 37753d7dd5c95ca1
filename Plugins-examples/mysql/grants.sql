-- The minimal privileges of the snaporch user on MariaDB 10.11 (verified one by one):
--   RELOAD                   BACKUP STAGE, FLUSH [LOCAL] TABLES [WITH READ LOCK]
--   BINLOG MONITOR           SHOW MASTER STATUS (the binary-log position recorded under the lock)
--   SLAVE MONITOR            SHOW REPLICA STATUS (replica: true)
--   REPLICATION SLAVE ADMIN  STOP/START REPLICA SQL_THREAD (replica: true)
-- On MySQL 8: RELOAD (or FLUSH_TABLES), REPLICATION CLIENT, REPLICATION_SLAVE_ADMIN.
CREATE USER IF NOT EXISTS 'snaporch'@'localhost' IDENTIFIED BY 'CHANGE-ME';
GRANT RELOAD, BINLOG MONITOR, SLAVE MONITOR, REPLICATION SLAVE ADMIN ON *.* TO 'snaporch'@'localhost';
