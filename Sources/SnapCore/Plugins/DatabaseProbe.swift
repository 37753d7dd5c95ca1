import Foundation
import SnapSystem

/// What `validate` learns from a real connection with a database plugin's credentials:
/// connectivity (the client's own error when it cannot connect), the server, the privileges the
/// plugin needs, and whether the freeze set covers every directory the server writes to.
package enum DatabaseProbe {
    /// One finding.
    package typealias Finding = (severity: Diagnostic.Severity, message: String)

    /// Findings for `spec`; `frozen` is the mount points the config would freeze (nil or empty:
    /// no coverage check, as when freezing is off or the set is not known).
    package static func check(_ spec: PluginSpec, frozen: [String]? = nil, runId: String = "validate") -> [Finding] {
        let context = StepContext(phase: .pre, runId: runId, taskId: runId, budget: .seconds(10), deadlineEpoch: 0)
        let findings: [Finding]
        switch spec.kind {
        case .script: return []
        case .mysql: findings = mysql(MySQLPlugin(spec: spec), context, frozen: frozen ?? [])
        case .postgres: findings = postgres(PostgresPlugin(spec: spec), context, frozen: frozen ?? [])
        }
        // The messages quote the client and the server (see `RedactedPlugin`).
        let redactor = Redactor()
        return findings.map { ($0.severity, redactor.redact($0.message)) }
    }

    /// The first answer of a new session, or why there is none (the client's own words).
    static func firstRow(_ session: SQLSession, _ sql: String, server: String) -> Result<[String], ProbeFailure> {
        switch session.execute(sql, timeout: .seconds(15)) {
        case .rows(let rows):
            guard let row = rows.first, !row.isEmpty else {
                return .failure(ProbeFailure("\(server): unexpected empty answer to \(sql)"))
            }
            return .success(row)
        case .error(let why), .lost(let why): return .failure(ProbeFailure("\(server): cannot connect: \(why)"))
        case .timedOut: return .failure(ProbeFailure("\(server): no answer within 15 s"))
        }
    }

    /// The coverage finding for `directories`, if some are outside the freeze set.
    static func coverage(_ directories: [FrozenCoverage.Directory], frozen: [String], severity: Diagnostic.Severity)
        -> [Finding]
    {
        guard !frozen.isEmpty else { return [] }
        let gaps = FrozenCoverage(frozen: frozen).gaps(directories)
        guard !gaps.isEmpty else { return [] }
        return [
            (
                severity,
                "the freeze set (\(frozen.joined(separator: ", "))) does not cover the server's files: "
                    + FrozenCoverage.describe(gaps)
                    + (severity == .error
                        ? " — checkpoint mode needs every directory frozen (freeze them, or use mode: backup)"
                        : " — runs will fail this plugin's pre step until they are frozen too")
            )
        ]
    }

    package static func mysql(_ plugin: MySQLPlugin, _ context: StepContext, frozen: [String]) -> [Finding] {
        let session: SQLSession
        do {
            session = try plugin.openSession(context)
        } catch {
            return [(.error, error.message)]
        }
        defer { session.close() }
        let v: String
        switch firstRow(session, "SELECT VERSION();", server: plugin.server) {
        case .failure(let failure): return [(.error, failure.message)]
        case .success(let row): v = row[0]
        }
        var out: [Finding] = [(.note, "connected to \(v) with \(plugin.defaultsFile)")]
        if !frozen.isEmpty {
            do {
                out += coverage(
                    try plugin.durableDirectories(session, timeout: .seconds(10)), frozen: frozen, severity: .warning)
            } catch {
                out.append((.warning, "\(plugin.server): cannot list the server's directories: \(error.message)"))
            }
        }
        if case .rows(let grants) = session.execute("SHOW GRANTS;", timeout: .seconds(10)) {
            let text = grants.map { $0.joined(separator: " ") }.joined(separator: "\n").uppercased()
            let all = text.contains("ALL PRIVILEGES ON *.*")
            if !all && !text.contains("RELOAD") {
                out.append(
                    (
                        .error,
                        "\(plugin.server): the user lacks RELOAD (needed for BACKUP STAGE / FLUSH TABLES WITH READ LOCK): GRANT RELOAD ON *.* TO …"
                    ))
            }
            if !all && !text.contains("BINLOG MONITOR") && !text.contains("REPLICATION CLIENT")
                && !text.contains("SUPER")
            {
                out.append(
                    (
                        .warning,
                        "the user cannot read the binary-log position (GRANT BINLOG MONITOR, or REPLICATION CLIENT on MySQL): it will not be recorded"
                    ))
            }
        }
        return out
    }

    static func postgres(_ plugin: PostgresPlugin, _ context: StepContext, frozen: [String]) -> [Finding] {
        let session: SQLSession
        do {
            session = try plugin.openSession(context)
        } catch {
            return [(.error, error.message)]
        }
        defer { session.close() }
        let row: [String]
        switch firstRow(
            session, "SELECT current_setting('server_version_num'), current_user;", server: plugin.server)
        {
        case .failure(let failure): return [(.error, failure.message)]
        case .success(let r) where r.count >= 2: row = r
        case .success: return [(.error, "\(plugin.server): unexpected answer to the version query")]
        }
        var out: [Finding] = [(.note, "connected to PostgreSQL \(row[0]) as \(row[1])")]
        if !frozen.isEmpty {
            do {
                out += coverage(
                    try plugin.clusterDirectories(session, timeout: .seconds(10)), frozen: frozen,
                    severity: plugin.mode == .checkpoint ? .error : .warning)
            } catch {
                out.append((.warning, "\(plugin.server): cannot list the cluster's directories: \(error.message)"))
            }
        }
        let version = Int(row[0]) ?? 0
        let superuser = "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user)"
        if plugin.mode == .backup {
            let fn = version >= 150_000 ? "pg_backup_start(text,boolean)" : "pg_start_backup(text,boolean,boolean)"
            if case .rows(let r) = session.execute(
                "SELECT \(superuser) OR has_function_privilege('\(fn)', 'EXECUTE');", timeout: .seconds(10)),
                r.first?.first != "t"
            {
                out.append(
                    (
                        .error,
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
                        (.error, "\(plugin.server): \(row[1]) cannot CHECKPOINT: GRANT pg_checkpoint TO \(row[1])"))
                }
                if flags[1] != "t" {
                    out.append(
                        (
                            .error,
                            "\(plugin.server): \(row[1]) cannot read data_directory: GRANT pg_read_all_settings TO \(row[1])"
                        ))
                }
            }
        }
        return out
    }
}

/// Why `validate` could not use a database connection.
struct ProbeFailure: Error {
    var message: String
    init(_ message: String) { self.message = message }
}
