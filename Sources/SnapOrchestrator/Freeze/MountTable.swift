import Foundation

/// Reads the kernel's mount table. Always the real `/proc/self/mountinfo` (never under SNAPORCH_ROOT).
public enum MountTable {
    /// The raw text of `/proc/self/mountinfo`.
    public static func readText() -> String {
        (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
    }

    /// The parsed entries, in mount order.
    public static func entries() -> [MountEntry] { MountInfoParser.parse(readText()).entries }
}
