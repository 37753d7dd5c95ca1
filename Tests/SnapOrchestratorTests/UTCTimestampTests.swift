import Foundation
import Testing

@testable import SnapCore
@testable import SnapSystem

/// The ICU-free timestamps write exactly what the Foundation formatters they replace wrote.
@Suite struct UTCTimestampTests {
    @Test(arguments: [
        (Int64(1_800_000_000), "2027-01-15T08:00:00Z", "Fri, 15 Jan 2027 08:00:00 GMT"),
        (Int64(1_709_210_096), "2024-02-29T12:34:56Z", "Thu, 29 Feb 2024 12:34:56 GMT"),
        (Int64(0), "1970-01-01T00:00:00Z", "Thu, 01 Jan 1970 00:00:00 GMT"),
        (Int64(4_102_444_799), "2099-12-31T23:59:59Z", "Thu, 31 Dec 2099 23:59:59 GMT"),
    ])
    func formatsLikeTheFoundationFormatters(seconds: Int64, iso: String, rfc: String) {
        let stamp = UTCTimestamp(seconds: seconds)
        #expect(stamp.iso8601 == iso)
        #expect(stamp.rfc1123 == rfc)
        let date = Date(timeIntervalSince1970: Double(seconds))
        #expect(stamp.iso8601 == ISO8601DateFormatter().string(from: date))
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        #expect(stamp.rfc1123 == formatter.string(from: date))
    }

    @Test func fractionsAreTruncatedNotRounded() {
        let stamp = UTCTimestamp(epochSeconds: 1_800_000_000.9996)
        #expect(stamp.seconds == 1_800_000_000 && stamp.milliseconds == 999)
        #expect(stamp.iso8601 == "2027-01-15T08:00:00Z")
        #expect(stamp.compact == "20270115T080000999Z")
        #expect(UTCTimestamp(epochMillis: 1_800_000_000_123).compact == "20270115T080000123Z")
        let before = UTCTimestamp(epochMillis: -1)
        #expect(before.seconds == -1 && before.milliseconds == 999 && before.iso8601 == "1969-12-31T23:59:59Z")
    }

    @Test func runIdsKeepTheirShape() {
        let id = RunIdentity.newRunId()
        #expect(id.wholeMatch(of: /\d{8}T\d{9}Z-[0-9a-f]{1,6}/) != nil, "\(id)")
    }
}
