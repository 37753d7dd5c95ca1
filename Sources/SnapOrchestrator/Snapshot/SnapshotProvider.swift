/// Takes the disk snapshots inside the freeze window; the seam between the pipeline and the
/// snapshot mechanism (Blob REST, the host endpoint, a local command).
public protocol SnapshotProvider: Sendable {
    /// The provider's name for the report.
    var name: String { get }

    /// Everything that can be done before the window (requests built, connections ready).
    /// - Throws: `SnapshotError` when the provider cannot run at all.
    func prepare() async throws(SnapshotError) -> any PreparedSnapshot
}

/// A snapshot ready to fire.
public protocol PreparedSnapshot: Sendable {
    /// Takes every disk's snapshot in parallel; each call is bounded by `deadlineNanos`
    /// (monotonic) and by the provider's own timeout. Never writes to a local disk.
    func take(deadlineNanos: UInt64) async -> SnapshotReport
}

/// A provider that could not be prepared.
public struct SnapshotError: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: Int
    public var message: String

    public init(code: Int, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
