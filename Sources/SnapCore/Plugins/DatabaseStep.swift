import Foundation
import SnapSystem

/// Shared pieces of the database plugins: credential-file checks, client lookup, step reports.
package enum DatabaseStep {
    /// A credential file must be a regular file owned by root (or the running user), not readable
    /// by group or others, along a safe path — the client programs do not check this themselves.
    package static func credentialProblem(_ path: String) -> String? {
        let info: FileInfo
        do {
            info = try FileInfo.of(path)
        } catch {
            return "\(path): \(error.reason)"
        }
        guard info.kind == .regular else { return "\(path) is not a regular file" }
        if info.owner != 0 && info.owner != FileInfo.effectiveUserID {
            return "\(path) is owned by uid \(info.owner), not by root"
        }
        if info.mode & 0o077 != 0 {
            return "\(path) has mode \(PathSecurity.octal(info.mode)): credentials must be 0600"
        }
        return PathSecurity().problems(for: path).first
    }

    /// The client programs of a database plugin, in order of preference.
    package static func clientNames(_ kind: PluginSpec.Kind) -> [String] {
        kind == .mysql ? ["mariadb", "mysql"] : ["psql"]
    }

    /// The program a step runs (see `SystemProgram`: the same rule `validate` reports on).
    static func client(_ names: [String]) throws(DatabaseFailure) -> String {
        switch SystemProgram.locate(names) {
        case .success(let path): return path
        case .failure(let error): throw DatabaseFailure(error.description)
        }
    }

    static func failed(_ message: String, started: UInt64, details: [String: String] = [:]) -> StepReport {
        var report = StepReport(status: .failed)
        report.error = message
        report.attempts = 1
        report.durationMs = Int((Sys.monotonicNanos() - started) / 1_000_000)
        report.details = details.isEmpty ? nil : details
        return report
    }

    static func succeeded(started: UInt64, details: [String: String]) -> StepReport {
        var report = StepReport(status: .succeeded)
        report.attempts = 1
        report.exitCode = 0
        report.durationMs = Int((Sys.monotonicNanos() - started) / 1_000_000)
        report.details = details.isEmpty ? nil : details
        return report
    }

    /// A post step with nothing to release (pre failed before holding anything).
    static func skipped(started: UInt64, note: String) -> StepReport {
        var report = succeeded(started: started, details: ["note": note])
        report.status = .skipped
        return report
    }

    /// Succeeded when `problems` is empty, else failed with all of them, naming the server.
    static func result(_ problems: [String], server: String, started: UInt64, details: [String: String]) -> StepReport {
        problems.isEmpty
            ? succeeded(started: started, details: details)
            : failed("\(server): " + problems.joined(separator: "; "), started: started, details: details)
    }

    /// A marker that cannot appear in real rows.
    static func marker(_ context: StepContext) -> String {
        "snaporch-" + context.runId.filter { $0.isLetter || $0.isNumber } + "-"
            + String(UInt32.random(in: 0...UInt32.max), radix: 36)
    }
}
