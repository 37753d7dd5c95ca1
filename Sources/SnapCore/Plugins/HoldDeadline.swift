import Foundation
import SnapSystem

/// The dead-man of a hold: how long a lock that a database session takes may live, even when
/// snaporch is stopped, hung or killed while it holds it.
///
/// A hold (MariaDB `BACKUP STAGE BLOCK_COMMIT` or `FLUSH TABLES WITH READ LOCK`) lives in a client
/// session snaporch keeps open. Three things end it without snaporch's help:
/// - snaporch dies: the client reads EOF on its stdin and ends the session (milliseconds);
/// - snaporch is stopped or hung inside the freeze window: the freeze guard, a separate process,
///   kills the client's process group right after its own thaw at the freeze deadline
///   (`FreezeSession.endAtDeadline`);
/// - snaporch is stopped between the hold and the freeze, or after the thaw: the server's idle
///   timeout of the session (MariaDB `wait_timeout`) ends it at the window deadline as known when
///   the hold starts, plus `margin`.
///
/// The window deadline reaches the hold step explicitly (`StepContext.windowDeadline`), so that a
/// run whose window is bounded by something else (a lease) passes that instead. This type is the
/// single place that says how it is derived.
package enum HoldDeadline {
    /// Slack after a deadline before the server ends an idle session (server timers count whole seconds).
    package static let margin = TimeSpan(milliseconds: 1000)
    /// What may run between the last pre step and the first hold: the snapshot provider's
    /// preparation, the `syncfs` of the frozen filesystems (dirty data; at most
    /// `FreezeSettings.maxSyncTimeout`), the guard's start. Generous on purpose: a session idle there
    /// holds nothing that blocks a writer.
    package static let windowPreparation = TimeSpan.seconds(300)

    /// The window deadline as known when the first of `holdBudgets` starts at `now`: the freeze (or
    /// the unfrozen snapshot call) starts at the latest after that hold and every later one, each
    /// within its budget plus the kill grace a timed-out step may take; the window closes at the
    /// latest `window` after that (`freeze.timeout`, or `snapshot.timeout` for an unfrozen take).
    package static func windowDeadline(
        now: MonotonicInstant, holdBudgets: [TimeSpan], killGrace: TimeSpan, window: TimeSpan
    ) -> MonotonicInstant {
        holdBudgets.reduce(now) { $0 + $1 + killGrace } + window
    }

    /// The latest start of the post step of a plugin whose session lives from its pre to its post
    /// (a PostgreSQL backup: only its post produces `backup_label`), as known when its pre starts at
    /// `now`: this step and every later pre (capped by the end of the pre phase, `preEnd`), the
    /// `windowPreparation`, every hold, the window, every release, and the posts of the later plugins
    /// (which run before its own), each with the kill grace.
    package static func postDeadline(
        now: MonotonicInstant, stepBudget: TimeSpan, laterPreBudgets: [TimeSpan], preEnd: MonotonicInstant?,
        holdBudgets: [TimeSpan], window: TimeSpan, laterPostBudgets: [TimeSpan], killGrace: TimeSpan
    ) -> MonotonicInstant {
        var preDone = laterPreBudgets.reduce(now + stepBudget + killGrace) { $0 + $1 + killGrace }
        if let preEnd { preDone = min(preDone, max(preEnd, now) + killGrace) }
        let windowEnd = windowDeadline(
            now: preDone + windowPreparation, holdBudgets: holdBudgets, killGrace: killGrace, window: window)
        // Releases take at most their hold's budget (the same plugin timeout).
        let released = holdBudgets.reduce(windowEnd) { $0 + $1 + killGrace }
        return laterPostBudgets.reduce(released) { $0 + $1 + killGrace }
    }

    /// The server-side idle timeout to set at `now`, in whole seconds (rounded up, at least 1): an
    /// idle session then ends no earlier than `deadline + margin` and less than a second after it.
    package static func serverSeconds(until deadline: MonotonicInstant, now: MonotonicInstant) -> Int {
        let target = deadline + margin
        guard target > now else { return 1 }
        return max(1, Int((target.nanoseconds - now.nanoseconds + 999_999_999) / 1_000_000_000))
    }

    /// When the server ends the idle session at the latest (`deadline + margin` and the rounding up
    /// to whole seconds), in epoch milliseconds: for the journal and `recover`'s message.
    package static func epochMillis(
        endingIdleSessionAfter deadline: MonotonicInstant, now: MonotonicInstant, nowEpochMillis: Int64
    ) -> Int64 {
        nowEpochMillis + Int64(serverSeconds(until: deadline, now: now)) * 1000
    }

    /// `epochMillis` as `YYYY-MM-DDTHH:MM:SSZ`.
    package static func utc(epochMillis: Int64) -> String {
        UTCTimestamp(epochMillis: epochMillis).iso8601
    }
}
