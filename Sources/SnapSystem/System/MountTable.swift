/// Reads the kernel's mount table. Always the real `/proc/self/mountinfo` (never under SNAPORCH_ROOT).
package enum MountTable {
    /// The raw text of `/proc/self/mountinfo`, read to its end (it is often far larger than 4 KiB).
    package static func readText() -> String {
        ProcFile.text("/proc/self/mountinfo") ?? ""
    }

    /// The parsed entries, in mount order.
    package static func entries() -> [MountEntry] { MountInfoParser.parse(readText()).entries }
}
