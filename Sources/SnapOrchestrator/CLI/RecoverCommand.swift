/// `snaporch recover`: finish the duties of an interrupted run.
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
            return ExitCode.failed
        }
        defer { withExtendedLifetime(lock) {} }
        let journal = RunJournal(directory: paths.runDir)
        guard let leftover = journal.leftover() else {
            console.out("nothing to recover: no interrupted run in \(journal.path)\n")
            return ExitCode.ok
        }
        let (steps, thawed) = await Recovery(launcher: PosixProcessLauncher(), killGrace: .seconds(5)).recover(leftover)
        journal.finish()
        if args.has("--json") {
            console.out(JSONOutput.encode(steps) + "\n")
        } else {
            console.out("recovered run \(leftover.runId) (pid \(leftover.pid))\n")
            for t in thawed {
                console.out("  thaw \(t.mountPoint): \(t.error ?? (t.thaws > 0 ? "thawed" : "was not frozen"))\n")
            }
            for s in steps {
                console.out(
                    "  post \(s.plugin): \(s.result.status.rawValue)\(s.result.error.map { " — \($0)" } ?? "")\n")
            }
        }
        return steps.allSatisfy { $0.result.ok || $0.result.status == .skipped } ? ExitCode.ok : ExitCode.failed
    }
}
