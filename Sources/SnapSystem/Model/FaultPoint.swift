import Glibc

/// A test seam for the crash matrix: with `SNAPORCH_FAULT_STOP_AT=<point>` the orchestrator stops
/// itself (SIGSTOP) when it reaches that point, so a test can `kill -9` it at an exact boundary.
/// Stopping writes nothing anywhere, so it is safe inside the freeze window.
package enum FaultPoint {
    package static let target: String? = getenv("SNAPORCH_FAULT_STOP_AT").map { String(cString: $0) }

    /// Stops this process if `point` is the configured one.
    package static func hit(_ point: String) {
        if target == point { raise(SIGSTOP) }
    }
}
