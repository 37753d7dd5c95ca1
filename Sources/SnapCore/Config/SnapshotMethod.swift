import Foundation
import SnapSystem

/// Which path takes the snapshots when both the guest (blob) and the host path are possible
/// (customSettings `takeSnapshotFrom`, reference §4.4).
package enum SnapshotMethod: String, Sendable, Hashable, CaseIterable, Codable {
    case onlyGuest, onlyHost, firstHostThenGuest, firstGuestThenHost
}
