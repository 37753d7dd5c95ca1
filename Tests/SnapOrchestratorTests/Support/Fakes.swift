import Foundation

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// A freezer that records what it was asked and freezes nothing: for ordering and policy tests.
final class FakeFreezer: Freezer, @unchecked Sendable {
    private let lock = NSLock()
    private var log: [String] = []
    /// errno per mount for FIFREEZE (default 0).
    var freezeErrnos: [Int32] = []
    var deadlineHit = false
    var guardLost = false
    var calls: [String] { lock.withLock { log } }
    func record(_ s: String) { lock.withLock { log.append(s) } }

    func prepare(_ mounts: [MountEntry], timeout: TimeSpan) throws(FreezeError) -> any FreezeSession {
        record("prepare:\(mounts.map(\.mountPoint).joined(separator: ","))")
        return Session(owner: self, mounts: mounts)
    }

    final class Session: FreezeSession, @unchecked Sendable {
        let owner: FakeFreezer
        let mounts: [MountEntry]
        init(owner: FakeFreezer, mounts: [MountEntry]) {
            self.owner = owner
            self.mounts = mounts
        }
        func freeze() -> [MountFreezeResult] {
            owner.record("freeze")
            return mounts.enumerated().map { i, m in
                MountFreezeResult(
                    mountPoint: m.mountPoint, errno: owner.freezeErrnos.indices.contains(i) ? owner.freezeErrnos[i] : 0,
                    micros: 10)
            }
        }
        func thaw() -> ThawOutcome {
            owner.record("thaw")
            var outcome = ThawOutcome()
            for (i, m) in mounts.enumerated()
            where !owner.freezeErrnos.indices.contains(i) || owner.freezeErrnos[i] == 0 {
                outcome.results[m.mountPoint] = 0
            }
            outcome.windowMicros = 100
            outcome.deadlineHit = owner.deadlineHit
            outcome.guardLost = owner.guardLost
            return outcome
        }
        func cancel() { owner.record("cancel") }
        func finish() { owner.record("finish") }
    }
}

/// A snapshot provider that always succeeds with one disk (and records that it was called).
struct FakeSnapshot: SnapshotProvider, PreparedSnapshot {
    let name = "fake"
    var freezer: FakeFreezer?
    func prepare() async throws(SnapshotError) -> any PreparedSnapshot { self }
    func take(deadlineNanos: UInt64) async -> SnapshotReport {
        freezer?.record("snapshot")
        var report = SnapshotReport()
        report.provider = .blob
        var disk = DiskReport(blob: "https://acct.blob.core.windows.net/vhds/d0.vhd", ok: true)
        disk.snapshot = disk.blob + "?snapshot=2026-11-26T00:00:00.0000000Z"
        report.disks = [disk]
        report.taken = true
        return report
    }
}

/// A mount entry for plans built in tests (the fake freezer never touches it).
func fakeMount(_ path: String) -> MountEntry {
    MountEntry(
        mountID: 1000, parentID: 1, device: "250:0", root: systemRoot, mountPoint: path, mountOptions: ["rw"],
        fsType: "ext4", source: "/dev/fake0", superOptions: ["rw"])
}
