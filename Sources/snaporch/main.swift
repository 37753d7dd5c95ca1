import SnapOrchestrator
import SnapSystem

// The executable only hands argv to the library and maps the result to an exit code. The internal
// helpers (the freeze guard, the thaw watchdog) go first, synchronously: no thread exists yet.
if let code = HelperEntry.run(CommandLine.arguments) { ThisProcess.exit(code) }
// The loader's relocation table and the start-up code are never needed again: their pages leave
// this process's resident set (the code that runs from here on comes back from the page cache).
WorkingSetLock.dropCodePages()
let code = await CommandLineTool().main(Array(CommandLine.arguments.dropFirst()))
ThisProcess.exit(code)
