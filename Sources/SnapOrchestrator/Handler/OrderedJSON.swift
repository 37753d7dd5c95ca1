import Foundation
import SnapCore
import SnapSystem

/// A JSON value that keeps the key order it was built with, and can emit .NET's
/// `"\/Date(ms)\/"` dates literally: the status documents of the extension protocol need both.
package indirect enum OrderedJSON: Sendable, Hashable {
    case string(String)
    case int(Int64)
    case bool(Bool)
    case null
    case array([OrderedJSON])
    case object([(String, OrderedJSON)])
    /// Serialized as `"\/Date(<ms>)\/"`.
    case dotNetDate(Int64)

    package static func == (lhs: OrderedJSON, rhs: OrderedJSON) -> Bool { lhs.serialized() == rhs.serialized() }
    package func hash(into hasher: inout Hasher) { hasher.combine(serialized()) }

    /// A string value, or null.
    package static func optional(_ text: String?) -> OrderedJSON { text.map { .string($0) } ?? .null }

    /// Compact JSON text (`", "` and `": "` separators, as Python's json.dumps writes them).
    package func serialized() -> String {
        var out = ""
        write(into: &out)
        return out
    }

    private func write(into out: inout String) {
        switch self {
        case .string(let s): Self.quote(s, into: &out)
        case .int(let n): out += String(n)
        case .bool(let b): out += b ? "true" : "false"
        case .null: out += "null"
        case .dotNetDate(let ms): out += "\"\\/Date(\(ms))\\/\""
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += ", " }
                item.write(into: &out)
            }
            out += "]"
        case .object(let pairs):
            out += "{"
            for (i, pair) in pairs.enumerated() {
                if i > 0 { out += ", " }
                Self.quote(pair.0, into: &out)
                out += ": "
                pair.1.write(into: &out)
            }
            out += "}"
        }
    }

    private static func quote(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}
