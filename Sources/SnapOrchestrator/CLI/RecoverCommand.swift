import Foundation
import SnapCore
import SnapSystem

/// `snaporch recover [--config F] [--json]`: finish the duties of an interrupted run, with the kill
/// grace of `F` (else of the default config).
struct RecoverCommand {
    let console: Console
    let paths: Paths

    func run(_ argv: [String]) async throws(UsageError) -> Int32 {
        let args = try Commands.recover.spec.parse(argv)
        let lock: RunLock
        do {
            lock = try RunLock.acquire(directory: paths.runDir)
        } catch {
            console.err("snaporch recover: \(error.message)\n")
            let files = SplitFiles(paths: paths)
            if let state = files.load(SplitState.self, from: files.state), state.holderAlive {
                console.err("snaporch recover: the lock is held by a \(state.summary); `snaporch end` finishes it\n")
            }
            return ExitCode.failed
        }
        defer { withExtendedLifetime(lock) {} }
        // The config gives the kill grace; the journal gives each owed step exactly. A config that
        // cannot be read never stops the thaw: it is reported, and the defaults are used.
        let explicit = args.value("--config")
        let (config, diagnostics) = ConfigSource(paths: paths).load(explicit: explicit, defaultWhenAbsent: true)
        for diagnostic in diagnostics where diagnostic.severity == .error { console.err(diagnostic.rendered + "\n") }
        let killGrace = config?.killGrace ?? Config().killGrace
        if config == nil {
            console.err("snaporch recover: the config cannot be used; recovering with kill_grace \(killGrace)\n")
        }
        let configCode = config == nil && explicit != nil ? ExitCode.usage : ExitCode.ok
        let journal = RunJournal(directory: paths.runDir)
        guard let leftover = journal.leftover() else {
            console.out("nothing to recover: no interrupted run in \(journal.path)\n")
            return configCode
        }
        let (steps, thawed) = await Recovery(launcher: PosixProcessLauncher(), killGrace: killGrace).recover(leftover)
        journal.discard(keeping: Recovery.left(steps, of: leftover), of: leftover)
        if leftover.split != nil {
            // A split run whose holder died: its report says so, and a later `end` collects it.
            // (Not one that ended on its own: `recorded` leaves its books alone.)
            SplitRecovery(paths: paths).recorded(leftover, recovered: steps, thawed: thawed)
        }
        SplitPending(paths: paths).storeAll()
        if args.has("--json") {
            console.out(JSONOutput.encode(steps) + "\n")
        } else {
            if let reason = leftover.unreadable {
                console.out("the run journal is unreadable: \(reason); thawing every mount it may name\n")
            } else {
                var kind = leftover.split.map { "split run (begun by \($0); its holder died)" } ?? "run"
                if leftover.finished == true {
                    kind = leftover.split.map { "split run (begun by \($0))" } ?? "run"
                    kind +=
                        leftover.mayBeFrozen.isEmpty
                        ? " that ended with a post's duty left"
                        : " that ended without a confirmed thaw"
                            + (leftover.owed.isEmpty ? "" : " and with a post's duty left")
                }
                console.out("recovered \(kind) \(leftover.runId) (pid \(leftover.pid))\n")
            }
            for t in thawed {
                console.out("  thaw \(t.mountPoint): \(t.error ?? (t.thaws > 0 ? "thawed" : "was not frozen"))\n")
            }
            for s in steps {
                console.out(
                    "  post \(s.plugin): \(s.result.status.rawValue)\(s.result.error.map { " — \($0)" } ?? "")\n")
                if let why = s.result.details?["deadman"] { console.out("    \(why)\n") }
                if let replica = s.result.details?["replica"] { console.out("    replica: \(replica)\n") }
                if let duty = s.result.dutyLeft { console.out("    still owed: \(duty)\n") }
            }
        }
        guard steps.allSatisfy({ $0.result.ok || $0.result.status == .skipped }) else { return ExitCode.failed }
        return configCode
    }
}
