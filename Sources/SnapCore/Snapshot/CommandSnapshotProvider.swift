import Foundation
import SnapSystem

/// `provider: command`: runs an argv inside the window (an LVM or btrfs snapshot, a cloud CLI).
///
/// Its stdout may carry JSON lines `{"disk": "...", "snapshot": "...", "ok": true}` describing
/// the snapshots taken; without them the command's success stands for one snapshot.
package struct CommandSnapshotProvider: SnapshotProvider {
    package let name = "command"
    let argv: [String]
    let timeout: TimeSpan
    let launcher: any ProcessLauncher
    let environment: [String: String]

    /// Creates the provider.
    package init(argv: [String], timeout: TimeSpan, launcher: any ProcessLauncher, environment: [String: String]) {
        self.argv = argv
        self.timeout = timeout
        self.launcher = launcher
        self.environment = environment
    }

    package func prepare() async throws(SnapshotError) -> any PreparedSnapshot {
        guard let first = argv.first else {
            throw SnapshotError(code: .generic, "snapshot.command is empty")
        }
        let problems = ExecutableCheck.problems(for: first) + PathSecurity().executableProblems(for: first)
        if let problem = problems.first {
            throw SnapshotError(code: .generic, "snapshot command refused: \(problem)")
        }
        return Prepared(provider: self)
    }

    struct Prepared: PreparedSnapshot {
        let provider: CommandSnapshotProvider

        func take(deadlineNanos: UInt64) async -> SnapshotReport {
            var report = SnapshotReport()
            report.provider = .command
            let now = Sys.monotonicNanos()
            let left = deadlineNanos > now ? Int((deadlineNanos - now) / 1_000_000) : 0
            // The kill (TERM, grace, KILL, reap, a short drain) must end before the deadline too, so
            // that snaporch thaws on time itself instead of leaving the thaw to the guard.
            let grace = min(500, left / 5)
            let drain = min(100, grace / 2)
            let reserve = grace + drain + min(200, left / 10)
            let byDeadline = left - reserve < provider.timeout.milliseconds
            let timeout = max(1, min(provider.timeout.milliseconds, left - reserve))
            var spec = ProcessSpec(
                executable: provider.argv[0], arguments: Array(provider.argv.dropFirst()),
                environment: provider.environment, timeout: .milliseconds(timeout))
            spec.killGrace = .milliseconds(max(grace, 1))
            spec.drainAfterExit = .milliseconds(max(1, drain))
            // Checked again at the spawn, and the checked file itself is executed (a few syscalls, no write).
            spec.pathRule = PathSecurity()
            let start = Sys.monotonicNanos()
            do {
                let outcome = try await provider.launcher.run(spec)
                let ms = Int((Sys.monotonicNanos() - start) / 1_000_000)
                let described = Self.parseLines(outcome.stdoutTail)
                if outcome.status.isSuccess && !outcome.timedOut {
                    // One undescribed snapshot took the command's time; described disks carry their
                    // own `durationMs` (else 0): the command's total is the timeline's snapshot step.
                    report.disks =
                        described.isEmpty
                        ? [DiskReport(blob: Redactor().redact(provider.argv[0]), ok: true)] : described
                    if described.isEmpty { report.disks[0].durationMs = ms }
                    report.taken = report.disks.contains { $0.ok }
                    if report.disks.contains(where: { !$0.ok }) {
                        report.error = "some snapshots failed"
                        report.errorCode = .generic
                    }
                } else {
                    let stderr = Redactor().redact(
                        tail: Array(outcome.stderrTail.suffix(400)), wasCut: outcome.stderrBytes > 400)
                    let limit = byDeadline ? "the freeze deadline" : "snapshot.timeout"
                    report.error =
                        outcome.timedOut
                        ? "snapshot command timed out after \(spec.timeout) (\(limit)) and was killed"
                        : "snapshot command \(outcome.status): \(stderr.trimmingSpaces)"
                    // The command's own failure: not 76, which says the VM has no network.
                    report.errorCode = .generic
                    var disk = DiskReport(blob: provider.argv[0], ok: false)
                    disk.error = report.error
                    disk.durationMs = ms
                    report.disks = [disk]
                }
            } catch {
                report.error = error.description
                report.errorCode = .generic
            }
            return report
        }

        static func parseLines(_ bytes: [UInt8]) -> [DiskReport] {
            var disks: [DiskReport] = []
            for line in bytes.split(separator: 0x0A) {
                guard line.first == UInt8(ascii: "{"),
                    let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
                    let disk = object["disk"] as? String
                else { continue }
                var report = DiskReport(blob: Redactor.redactURI(disk), ok: (object["ok"] as? Bool) ?? true)
                report.snapshot = object["snapshot"] as? String
                report.error = (object["error"] as? String).map { Redactor().redact($0) }
                report.durationMs = max(0, (object["durationMs"] as? Int) ?? 0)
                disks.append(report)
            }
            return disks
        }
    }
}
