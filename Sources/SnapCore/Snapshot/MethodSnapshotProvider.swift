import Foundation
import SnapSystem

/// Combines the guest and host providers according to a `SnapshotMethod`.
///
/// `firstHostThenGuest`: the host's presnapshot (before the window) decides; if the host does not
/// answer, the guest path is used. `firstGuestThenHost`: the guest path runs; if every disk failed
/// and the deadline still allows, the host path runs in the same window (the original thaws and
/// freezes a second time).
package struct MethodSnapshotProvider: SnapshotProvider {
    package var name: String { method.rawValue }
    let method: SnapshotMethod
    let guest: (any SnapshotProvider)?
    let host: (any SnapshotProvider)?

    package init(method: SnapshotMethod, guest: (any SnapshotProvider)?, host: (any SnapshotProvider)?) {
        self.method = method
        self.guest = guest
        self.host = host
    }

    package func prepare() async throws(SnapshotError) -> any PreparedSnapshot {
        switch method {
        case .onlyGuest:
            return try await required(guest, "guest").prepare()
        case .onlyHost:
            return try await required(host, "host").prepare()
        case .firstHostThenGuest:
            if let host, let prepared = try? await host.prepare() { return prepared }
            return try await required(guest, "guest").prepare()
        case .firstGuestThenHost:
            let first = try await required(guest, "guest").prepare()
            let second = try? await host?.prepare()
            return Fallback(first: first, second: second)
        }
    }

    private func required(_ provider: (any SnapshotProvider)?, _ kind: String) throws(SnapshotError)
        -> any SnapshotProvider
    {
        guard let provider else {
            throw SnapshotError(
                code: .snapshotFailedNoNetwork,
                "snapshot method \(method.rawValue) needs the \(kind) path, which has no disks or endpoint")
        }
        return provider
    }

    struct Fallback: PreparedSnapshot {
        let first: any PreparedSnapshot
        let second: (any PreparedSnapshot)?

        func take(deadlineNanos: UInt64) async -> SnapshotReport {
            let report = await first.take(deadlineNanos: deadlineNanos)
            guard !report.taken, let second, Sys.monotonicNanos() < deadlineNanos else { return report }
            var fallback = await second.take(deadlineNanos: deadlineNanos)
            if !fallback.taken {
                fallback.error = "guest: \(report.error ?? "failed"); host: \(fallback.error ?? "failed")"
            }
            return fallback
        }
    }
}
