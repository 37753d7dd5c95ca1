import SnapCore

/// The internal helper processes, entered straight from `main` before anything else runs.
///
/// The freeze guard (`__guard`) and the thaw watchdog (`__watchdog`) must stay small: they start
/// here, synchronously on the main thread, before the Swift concurrency runtime has started a
/// thread and before any Foundation code ran, so that the guard's memory lock covers a few MiB and
/// not a thread pool, ICU and every library (see `WorkingSetLock`).
///
/// To add a helper, add a row to `helpers`: its argv[1] name and its entry point (it gets the
/// arguments after the name and returns the exit code; it must not need the async runtime).
package enum HelperEntry {
    /// A helper's entry point: the arguments after its name in, the process exit code out.
    package typealias Main = @Sendable ([String]) -> Int32

    /// Every internal helper by its command name.
    package static let helpers: [String: Main] = [
        "__guard": FreezeGuardMain.run,
        "__watchdog": ThawWatchdogMain.run,
    ]

    /// Runs the helper named by `arguments` (the whole argv, the program first) and returns its exit
    /// code; nil when the command is not an internal helper.
    package static func run(_ arguments: [String]) -> Int32? {
        guard arguments.count > 1, let main = helpers[arguments[1]] else { return nil }
        return main(Array(arguments.dropFirst(2)))
    }
}
