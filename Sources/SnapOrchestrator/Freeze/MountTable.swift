/// Reads the kernel's mount table. Always the real `/proc/self/mountinfo` (never under SNAPORCH_ROOT).
public enum MountTable {
    /// The raw text of `/proc/self/mountinfo`, read to its end (it is often far larger than 4 KiB).
    public static func readText() -> String {
        ProcFile.text("/proc/self/mountinfo") ?? ""
    }

    /// The parsed entries, in mount order.
    public static func entries() -> [MountEntry] { MountInfoParser.parse(readText()).entries }
}
