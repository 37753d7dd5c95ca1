/// What a post step is told about the snapshot (`SNAPORCH_OUTCOME` of the script contract).
package enum StepOutcome: String, Sendable, Codable, Hashable, CaseIterable {
    /// At least one disk's snapshot exists.
    case snapshotTaken = "snapshot-taken"
    /// No snapshot was taken (or the run died before knowing).
    case noSnapshot = "no-snapshot"

    /// The outcome of a run whose snapshot was (`taken`) or was not taken.
    package init(taken: Bool) { self = taken ? .snapshotTaken : .noSnapshot }
}
