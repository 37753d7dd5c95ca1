/// A JSON value written by hand: compact, object keys sorted, `/` not escaped — the text
/// `JSONEncoder` writes with `.sortedKeys` and `.withoutEscapingSlashes`.
///
/// For records written on the hot path of a run (the crash journal appends one per step):
/// `JSONEncoder` looks up protocol conformances for every type it meets the first time, which costs
/// about half a millisecond in the first step of every run. Readers keep using `JSONDecoder`.
package enum JSONText: Sendable, Hashable {
    case string(String)
    case integer(Int64)
    case array([JSONText])
    case object([String: JSONText])

    /// An object of the present members only (a nil value is left out, as `encodeIfPresent` does).
    package static func members(_ members: [(String, JSONText?)]) -> JSONText {
        var object: [String: JSONText] = [:]
        for (key, value) in members { if let value { object[key] = value } }
        return .object(object)
    }

    /// An array of strings.
    package static func strings(_ values: [String]) -> JSONText { .array(values.map { .string($0) }) }

    /// The UTF-8 text of this value.
    package var bytes: [UInt8] {
        var out: [UInt8] = []
        write(into: &out)
        return out
    }

    private func write(into out: inout [UInt8]) {
        switch self {
        case .string(let text): Self.writeString(text, into: &out)
        case .integer(let value): out.append(contentsOf: String(value).utf8)
        case .array(let values):
            out.append(UInt8(ascii: "["))
            for (index, value) in values.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                value.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            // Sorted as `JSONEncoder.sortedKeys` sorts: by the keys' UTF-8 bytes.
            for (index, key) in members.keys.sorted(by: { Array($0.utf8).lexicographicallyPrecedes($1.utf8) })
                .enumerated()
            {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                Self.writeString(key, into: &out)
                out.append(UInt8(ascii: ":"))
                members[key]!.write(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static func writeString(_ text: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): out.append(contentsOf: #"\\"#.utf8)
            case 0x0A: out.append(contentsOf: #"\n"#.utf8)
            case 0x0D: out.append(contentsOf: #"\r"#.utf8)
            case 0x09: out.append(contentsOf: #"\t"#.utf8)
            case 0x08: out.append(contentsOf: #"\b"#.utf8)
            case 0x0C: out.append(contentsOf: #"\f"#.utf8)
            case 0x00..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: #"\u00"#.utf8)
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
