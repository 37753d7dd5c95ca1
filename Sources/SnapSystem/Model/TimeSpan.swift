/// A non-negative duration as written in configs: `30`, `30s`, `500ms`, `2m`, `1h`, `1.5s`.
///
/// A bare number means seconds, as in the original's configs.
package struct TimeSpan: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// The length in milliseconds.
    package var milliseconds: Int

    /// Creates a span from milliseconds.
    package init(milliseconds: Int) { self.milliseconds = max(0, milliseconds) }

    /// Creates a span from whole seconds.
    package static func seconds(_ s: Int) -> TimeSpan { TimeSpan(milliseconds: s * 1000) }

    /// The span in seconds, as a Double.
    package var seconds: Double { Double(milliseconds) / 1000 }

    /// The span as a Swift `Duration`.
    package var duration: Duration { .milliseconds(milliseconds) }

    /// Parses a duration; nil when the text is not one.
    package init?(parsing text: String) {
        let trimmed = text.trimmingSpaces
        var digits = Substring(trimmed)
        var unit: Double = 1000
        for (suffix, factor) in [("ms", 1.0), ("s", 1000.0), ("m", 60_000.0), ("h", 3_600_000.0)]
        where trimmed.hasSuffix(suffix) {
            digits = trimmed.dropLast(suffix.count)
            unit = factor
            break
        }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
            digits.filter({ $0 == "." }).count <= 1, let value = Double(digits), value.isFinite
        else { return nil }
        let ms = value * unit
        guard ms <= Double(Int32.max) else { return nil }
        self.init(milliseconds: Int(ms.rounded()))
    }

    package var description: String {
        if milliseconds % 3_600_000 == 0 && milliseconds >= 3_600_000 { return "\(milliseconds / 3_600_000)h" }
        if milliseconds % 60_000 == 0 && milliseconds >= 60_000 { return "\(milliseconds / 60_000)m" }
        if milliseconds % 1000 == 0 { return "\(milliseconds / 1000)s" }
        return "\(milliseconds)ms"
    }

    package static func < (lhs: TimeSpan, rhs: TimeSpan) -> Bool { lhs.milliseconds < rhs.milliseconds }

    package init(from decoder: any Decoder) throws {
        self.init(milliseconds: try decoder.singleValueContainer().decode(Int.self))
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(milliseconds)
    }
}

extension String {
    /// nil for an empty string.
    package var nilIfEmpty: String? { isEmpty ? nil : self }

    /// The string without leading and trailing spaces, tabs and newlines.
    package var trimmingSpaces: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) })
        else { return "" }
        return String(self[start...end])
    }
}
