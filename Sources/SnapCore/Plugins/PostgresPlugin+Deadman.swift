import SnapSystem

extension PostgresPlugin {
    /// The statements that make the server end the backup session after it stays idle past
    /// `deadline` (plus the margin): its dead-man. `idle_session_timeout` exists from PostgreSQL 14
    /// on (the SET fails on older servers): there, nothing (EOF and the freeze guard end it).
    /// Outside the pipeline (`deadline` nil) the session never ends by itself (0).
    static func idleTimeouts(
        version: Int, until deadline: MonotonicInstant?,
        now: MonotonicInstant = MonotonicInstant(nanoseconds: Sys.monotonicNanos())
    ) -> String {
        guard version >= 140_000 else { return "" }
        guard let deadline else { return "SET idle_session_timeout = 0; SET idle_in_transaction_session_timeout = 0; " }
        let ms = HoldDeadline.serverSeconds(until: deadline, now: now) * 1000
        return "SET idle_session_timeout = \(ms); SET idle_in_transaction_session_timeout = \(ms); "
    }

    /// What ends the backup session if snaporch cannot (for the step's details).
    static func deadmanNote(version: Int, until deadline: MonotonicInstant?) -> String {
        let guardNote = "the freeze guard ends it at the freeze deadline"
        guard version >= 140_000 else {
            return "EOF when snaporch dies; \(guardNote) (no idle_session_timeout before PostgreSQL 14)"
        }
        guard let deadline else { return "EOF when snaporch dies; \(guardNote)" }
        let now = MonotonicInstant(nanoseconds: Sys.monotonicNanos())
        return "the server ends the backup session after \(HoldDeadline.serverSeconds(until: deadline, now: now)) s "
            + "idle (idle_session_timeout: the latest start of its post as known now); \(guardNote)"
    }
}
