import Foundation
import SnapCore
import SnapSystem

/// The `snaporch` command line: dispatches a subcommand and returns the process exit code.
package struct CommandLineTool: Sendable {
    let console = Console()
    let paths: Paths

    /// Creates the tool for this process's environment.
    package init(paths: Paths = Paths()) { self.paths = paths }

    /// Runs `argv` (without the program name) and returns the exit code.
    package func main(_ argv: [String]) async -> Int32 {
        guard let command = argv.first else {
            console.err(HelpText.overview + "\n")
            return ExitCode.usage
        }
        let rest = Array(argv.dropFirst())
        // A dead pipe reader (the guard, a script) must give EPIPE, not kill the orchestrator.
        Signal.ignore([.brokenPipe])
        if rest.contains("--help") || rest.contains("-h") {
            if let text = HelpText.forCommand(command) {
                console.out(text + "\n")
                return ExitCode.ok
            }
        }
        do {
            switch command {
            case "help", "--help", "-h":
                let args = try Commands.help.spec.parse(rest)
                if let name = args.operands.first {
                    guard let text = HelpText.forCommand(name) else { throw UsageError("no such command '\(name)'") }
                    console.out(text + "\n")
                } else {
                    console.out(HelpText.overview + "\n")
                }
                return ExitCode.ok
            case "version", "--version":
                _ = try Commands.version.spec.parse(rest)
                console.out("snaporch \(Version.current)\n")
                return ExitCode.ok
            case "validate":
                return try await ValidateCommand(console: console, paths: paths).run(rest)
            case "run":
                return try await RunCommand(console: console, paths: paths).run(rest)
            case "begin":
                return try await BeginEndCommand(console: console, paths: paths).begin(rest)
            case "end":
                return try await BeginEndCommand(console: console, paths: paths).end(rest)
            case "__holder":
                return await SplitHolder.main(rest, paths: paths)
            case "recover":
                return try await RecoverCommand(console: console, paths: paths).run(rest)
            case "thaw":
                return try ThawCommand(console: console).run(rest)
            case "__completion":
                _ = try Commands.named("__completion")!.spec.parse(rest)
                guard rest == ["bash"] else { throw UsageError("only bash completion is generated") }
                console.out(BashCompletion.script)
                return ExitCode.ok
            case _ where HelperEntry.helpers[command] != nil:
                // Reached from tests only: `main` enters the helpers before the async runtime.
                return HelperEntry.helpers[command]!(rest)
            case "handler":
                return try await HandlerCommand(console: console, paths: paths).run(rest)
            case "report":
                return try ReportCommand(console: console, paths: paths).report(rest)
            case "hook":
                return try await HookCommand(console: console, paths: paths).run(rest)
            case "history":
                return try ReportCommand(console: console, paths: paths).history(rest)
            default:
                var message = "unknown command '\(command)'"
                let names = Commands.all.map(\.name)
                if let guess = Spelling.closest(to: command, in: names) { message += "; did you mean '\(guess)'?" }
                throw UsageError(message)
            }
        } catch let error as UsageError {
            console.err("snaporch: \(error.message)\n\n")
            console.err((HelpText.forCommand(command) ?? HelpText.overview) + "\n")
            return ExitCode.usage
        } catch {
            console.err("snaporch: \(error)\n")
            return ExitCode.failed
        }
    }
}

/// Process exit codes of the CLI (see the README).
package enum ExitCode {
    /// Success (or: valid).
    package static let ok: Int32 = 0
    /// Failed, no snapshot (or: invalid config for `validate`).
    package static let failed: Int32 = 1
    /// Usage or configuration error.
    package static let usage: Int32 = 2
    /// Snapshot taken, consistency degraded.
    package static let degraded: Int32 = 3
}
