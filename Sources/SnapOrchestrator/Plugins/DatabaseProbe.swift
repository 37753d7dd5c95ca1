/// What `validate` learns from a real connection with a database plugin's credentials:
/// connectivity, the server, and the privileges the plugin needs.
public enum DatabaseProbe {
    /// Findings: (isError, message).
    public static func check(_ spec: PluginSpec, runId: String = "validate") -> [(Bool, String)] {
        let context = StepContext(phase: .pre, runId: runId, taskId: runId, budget: .seconds(10), deadlineEpoch: 0)
        switch spec.kind {
        case .script: return []
        case .mysql: return mysql(MySQLPlugin(spec: spec), context)
        case .postgres: return postgres(PostgresPlugin(spec: spec), context)
        }
    }

    static func mysql(_ plugin: MySQLPlugin, _ context: StepContext) -> [(Bool, String)] {
        let session: SQLSession
        do {
            session = try plugin.openSession(context)
        } catch {
            return [(true, error.message)]
        }
        defer { session.close() }
        guard case .rows(let version) = session.execute("SELECT VERSION();", timeout: .seconds(15)),
            let v = version.first?.first
        else {
            if case .lost(let why) = session.execute("SELECT 1;", timeout: .seconds(2)) {
                return [(true, "\(plugin.server): cannot connect: \(why)")]
            }
            return [(true, "\(plugin.server): cannot connect")]
        }
        var out: [(Bool, String)] = [(false, "connected to \(v) with \(plugin.defaultsFile)")]
        if case .rows(let grants) = session.execute("SHOW GRANTS;", timeout: .seconds(10)) {
            let text = grants.map { $0.joined(separator: " ") }.joined(separator: "\n").uppercased()
            let all = text.contains("ALL PRIVILEGES ON *.*")
            if !all && !text.contains("RELOAD") {
                out.append(
                    (
                        true,
                        "\(plugin.server): the user lacks RELOAD (needed for BACKUP STAGE / FLUSH TABLES WITH READ LOCK): GRANT RELOAD ON *.* TO …"
                    ))
            }
            if !all && !text.contains("BINLOG MONITOR") && !text.contains("REPLICATION CLIENT")
                && !text.contains("SUPER")
            {
                out.append(
                    (
                        false,
                        "the user cannot read the binary-log position (GRANT BINLOG MONITOR, or REPLICATION CLIENT on MySQL): it will not be recorded"
                    ))
            }
        }
        return out
    }

    static func postgres(_ plugin: PostgresPlugin, _ context: StepContext) -> [(Bool, String)] {
        let session: SQLSession
        do {
            session = try plugin.openSession(context)
        } catch {
            return [(true, error.message)]
        }
        defer { session.close() }
        guard
            case .rows(let rows) = session.execute(
                "SELECT current_setting('server_version_num'), current_user;", timeout: .seconds(15)),
            let row = rows.first, row.count >= 2
        else {
            if case .lost(let why) = session.execute("SELECT 1;", timeout: .seconds(2)) {
                return [(true, "\(plugin.server): cannot connect: \(why)")]
            }
            return [(true, "\(plugin.server): cannot connect")]
        }
        var out: [(Bool, String)] = [(false, "connected to PostgreSQL \(row[0]) as \(row[1])")]
        let version = Int(row[0]) ?? 0
        let superuser = "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user)"
        if plugin.mode == "backup" {
            let fn = version >= 150_000 ? "pg_backup_start(text,boolean)" : "pg_start_backup(text,boolean,boolean)"
            if case .rows(let r) = session.execute(
                "SELECT \(superuser) OR has_function_privilege('\(fn)', 'EXECUTE');", timeout: .seconds(10)),
                r.first?.first != "t"
            {
                out.append(
                    (
                        true,
                        "\(plugin.server): \(row[1]) may not execute \(fn): GRANT EXECUTE ON FUNCTION \(fn) TO \(row[1]) (in this database)"
                    ))
            }
        } else if version >= 150_000 {
            let check =
                "SELECT \(superuser) OR pg_has_role('pg_checkpoint', 'USAGE'), \(superuser) OR pg_has_role('pg_read_all_settings', 'USAGE');"
            if case .rows(let r) = session.execute(check, timeout: .seconds(10)), let flags = r.first, flags.count == 2
            {
                if flags[0] != "t" {
                    out.append(
                        (true, "\(plugin.server): \(row[1]) cannot CHECKPOINT: GRANT pg_checkpoint TO \(row[1])"))
                }
                if flags[1] != "t" {
                    out.append(
                        (
                            true,
                            "\(plugin.server): \(row[1]) cannot read data_directory: GRANT pg_read_all_settings TO \(row[1])"
                        ))
                }
            }
        }
        return out
    }
}
