/// One line of `/proc/self/mountinfo`.
public struct MountEntry: Sendable, Hashable, Codable {
    /// Unique mount id (field 1).
    public var mountID: Int
    /// Parent mount id (field 2).
    public var parentID: Int
    /// `major:minor` of the superblock; bind mounts of one filesystem share it.
    public var device: String
    /// The root of the mount within its filesystem (field 4); not `/` for bind mounts of a subtree.
    public var root: String
    /// Where it is mounted, unescaped.
    public var mountPoint: String
    /// Per-mount options (`rw,relatime`).
    public var mountOptions: [String]
    /// Filesystem type after the `-` separator.
    public var fsType: String
    /// Mount source (device path or pseudo name).
    public var source: String
    /// Per-superblock options.
    public var superOptions: [String]

    /// True when the mount or its superblock is read-only.
    public var isReadOnly: Bool { mountOptions.contains("ro") || superOptions.contains("ro") }
}

/// Parses `/proc/self/mountinfo` text.
public enum MountInfoParser {
    /// Parses every well-formed line; malformed lines are returned as errors with their line number.
    public static func parse(_ text: String) -> (entries: [MountEntry], errors: [String]) {
        var entries: [MountEntry] = []
        var errors: [String] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            if let entry = parseLine(Substring(line)) {
                entries.append(entry)
            } else {
                errors.append("mountinfo line \(index + 1) is malformed: \(line.prefix(120))")
            }
        }
        return (entries, errors)
    }

    /// Parses one line; nil when it does not have the mountinfo shape.
    public static func parseLine(_ line: Substring) -> MountEntry? {
        let fields = line.split(separator: " ", omittingEmptySubsequences: false)
        guard fields.count >= 10, let separator = fields[6...].firstIndex(of: "-"), separator + 3 < fields.count,
            let id = Int(fields[0]), let parent = Int(fields[1])
        else { return nil }
        let device = String(fields[2])
        guard device.contains(":") else { return nil }
        return MountEntry(
            mountID: id, parentID: parent, device: device,
            root: unescape(fields[3]), mountPoint: unescape(fields[4]),
            mountOptions: fields[5].split(separator: ",").map(String.init),
            fsType: unescape(fields[separator + 1]), source: unescape(fields[separator + 2]),
            superOptions: fields[separator + 3].split(separator: ",").map(String.init))
    }

    /// Decodes the kernel's `\ooo` octal escapes (space, tab, newline, backslash) on bytes.
    public static func unescape(_ field: Substring) -> String {
        let bytes = Array(field.utf8)
        guard bytes.contains(UInt8(ascii: "\\")) else { return String(field) }
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
