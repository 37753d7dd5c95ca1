/// One line of `/proc/self/mountinfo`.
package struct MountEntry: Sendable, Hashable, Codable {
    /// Unique mount id (field 1).
    package var mountID: Int
    /// Parent mount id (field 2).
    package var parentID: Int
    /// `major:minor` of the superblock; bind mounts of one filesystem share it.
    package var device: String
    /// The root of the mount within its filesystem (field 4); not `/` for bind mounts of a subtree.
    package var root: String
    /// Where it is mounted, unescaped.
    package var mountPoint: String
    /// Per-mount options (`rw,relatime`).
    package var mountOptions: [String]
    /// Filesystem type after the `-` separator.
    package var fsType: String
    /// Mount source (device path or pseudo name).
    package var source: String
    /// Per-superblock options.
    package var superOptions: [String]

    /// True when the mount or its superblock is read-only.
    package var isReadOnly: Bool { mountOptions.contains("ro") || superOptions.contains("ro") }
}

/// Parses `/proc/self/mountinfo` text.
///
/// Works on UTF-8 bytes (not Characters): a host with thousands of mounts has a table of hundreds
/// of KiB, read on every run.
package enum MountInfoParser {
    private static let newline = UInt8(ascii: "\n")
    private static let space = UInt8(ascii: " ")
    private static let comma = UInt8(ascii: ",")

    /// Parses every well-formed line; malformed lines are returned as errors with their line number.
    package static func parse(_ text: String) -> (entries: [MountEntry], errors: [String]) {
        var entries: [MountEntry] = []
        var errors: [String] = []
        for (index, line) in text.utf8.split(separator: newline, omittingEmptySubsequences: true).enumerated() {
            if let entry = parse(line: line) {
                entries.append(entry)
            } else {
                let shown = String(decoding: line.prefix(120), as: UTF8.self)
                errors.append("mountinfo line \(index + 1) is malformed: \(shown)")
            }
        }
        return (entries, errors)
    }

    /// Parses one line; nil when it does not have the mountinfo shape.
    package static func parseLine(_ line: Substring) -> MountEntry? { parse(line: line.utf8) }

    private static func parse(line: Substring.UTF8View) -> MountEntry? {
        let fields = line.split(separator: space, omittingEmptySubsequences: false)
        guard fields.count >= 10,
            let separator = fields[6...].firstIndex(where: { $0.count == 1 && $0.first == UInt8(ascii: "-") }),
            separator + 3 < fields.count, let id = number(fields[0]), let parent = number(fields[1]),
            fields[2].contains(UInt8(ascii: ":"))
        else { return nil }
        return MountEntry(
            mountID: id, parentID: parent, device: String(decoding: fields[2], as: UTF8.self),
            root: unescape(fields[3]), mountPoint: unescape(fields[4]), mountOptions: options(fields[5]),
            fsType: unescape(fields[separator + 1]), source: unescape(fields[separator + 2]),
            superOptions: options(fields[separator + 3]))
    }

    /// A non-negative decimal number, or nil.
    private static func number(_ digits: Substring.UTF8View) -> Int? {
        guard !digits.isEmpty, digits.count < 19 else { return nil }
        var value = 0
        for d in digits {
            guard d >= UInt8(ascii: "0"), d <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(d - UInt8(ascii: "0"))
        }
        return value
    }

    private static func options(_ field: Substring.UTF8View) -> [String] {
        field.split(separator: comma).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Decodes the kernel's `\ooo` octal escapes (space, tab, newline, backslash) on bytes.
    package static func unescape(_ field: Substring) -> String { unescape(field.utf8) }

    private static func unescape(_ field: Substring.UTF8View) -> String {
        guard field.contains(UInt8(ascii: "\\")) else { return String(decoding: field, as: UTF8.self) }
        let bytes = Array(field)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "\\"), i + 3 < bytes.count,
                let value = octalByte(bytes[(i + 1)...(i + 3)])
            {
                out.append(value)
                i += 4
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func octalByte(_ digits: ArraySlice<UInt8>) -> UInt8? {
        guard digits.count == 3 else { return nil }
        var value = 0
        for d in digits {
            guard d >= UInt8(ascii: "0"), d <= UInt8(ascii: "7") else { return nil }
            value = value * 8 + Int(d - UInt8(ascii: "0"))
        }
        return value <= 255 ? UInt8(value) : nil
    }
}
