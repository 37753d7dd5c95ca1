import SnapOrchestrator
import SnapSystem

// The executable only hands argv to the library and maps the result to an exit code. The internal
// helpers (the freeze guard, the thaw watchdog) go first, synchronously: no thread exists yet.
if let code = HelperEntry.run(CommandLine.arguments) { ThisProcess.exit(code) }
let code = await CommandLineTool().main(Array(CommandLine.arguments.dropFirst()))
ThisProcess.exit(code)
