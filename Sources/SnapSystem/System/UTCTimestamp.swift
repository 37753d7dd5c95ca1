import Glibc

/// Fixed-format UTC timestamps, made from `clock_gettime` and `gmtime_r`.
///
/// Foundation's `DateFormatter` and `ISO8601DateFormatter` load ICU (~5 MiB resident and
/// milliseconds of start-up) for strings that never depend on a locale. These produce the same text
/// as those formatters did with `en_US_POSIX` and UTC: seconds are truncated, never rounded.
package struct UTCTimestamp: Sendable, Equatable {
    /// Whole seconds since the epoch.
    package var seconds: Int64
    /// Milliseconds within the second (0...999).
    package var milliseconds: Int

    /// The current wall-clock time (`CLOCK_REALTIME`).
    package static func now() -> UTCTimestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UTCTimestamp(seconds: Int64(ts.tv_sec), milliseconds: Int(ts.tv_nsec / 1_000_000))
    }

    /// A timestamp `seconds` (and `milliseconds`) after the epoch.
    package init(seconds: Int64, milliseconds: Int = 0) {
        self.seconds = seconds
        self.milliseconds = milliseconds
    }

    /// A timestamp `millis` milliseconds after the epoch (negative: before it).
    package init(epochMillis millis: Int64) {
        seconds = millis >= 0 ? millis / 1000 : (millis - 999) / 1000
        milliseconds = Int(millis - seconds * 1000)
    }

    /// A timestamp from fractional seconds since the epoch (truncated to the millisecond).
    package init(epochSeconds: Double) {
        self.init(epochMillis: Int64((epochSeconds * 1000).rounded(.down)))
    }

    /// `2026-11-26T15:01:02Z` (what `ISO8601DateFormatter` wrote).
    package var iso8601: String {
        let t = fields
        return "\(pad(t.year, 4))-\(pad(t.month, 2))-\(pad(t.day, 2))T"
            + "\(pad(t.hour, 2)):\(pad(t.minute, 2)):\(pad(t.second, 2))Z"
    }

    /// `20261126T150102123Z` (a run id's sortable prefix, with milliseconds).
    package var compact: String {
        let t = fields
        return "\(pad(t.year, 4))\(pad(t.month, 2))\(pad(t.day, 2))T\(pad(t.hour, 2))\(pad(t.minute, 2))"
            + "\(pad(t.second, 2))\(pad(milliseconds, 3))Z"
    }

    /// `Thu, 26 Nov 2026 15:01:02 GMT` (RFC 1123, the `x-ms-date` header).
    package var rfc1123: String {
        let t = fields
        let weekday = Self.weekdays[t.weekday]
        let month = Self.months[t.month - 1]
        return "\(weekday), \(pad(t.day, 2)) \(month) \(pad(t.year, 4)) "
            + "\(pad(t.hour, 2)):\(pad(t.minute, 2)):\(pad(t.second, 2)) GMT"
    }

    private static let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    private var fields: (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, weekday: Int) {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        return (
            Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday), Int(parts.tm_hour),
            Int(parts.tm_min), Int(parts.tm_sec), Int(parts.tm_wday)
        )
    }

    private func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
