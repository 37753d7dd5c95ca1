import SnapOrchestrator
import SnapSystem

// The executable only hands argv to the library and maps the result to an exit code.
let code = await CommandLineTool().main(Array(CommandLine.arguments.dropFirst()))
ThisProcess.exit(code)
