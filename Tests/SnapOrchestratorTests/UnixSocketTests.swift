import Foundation
import Glibc
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// The control socket of a split-phase run from the side of `snaporch end`.
@Suite(.timeLimit(.minutes(1)))
struct UnixSocketTests {
    /// A holder that stopped accepting (SIGSTOPped, or busy in its pre or post phase) lets its
    /// backlog fill with the connections of earlier `end` calls; the next `end` used to sleep in
    /// `connect` with no deadline. It now gives up at its deadline and says so.
    @Test func endGivesUpOnAHolderWhoseBacklogIsFull() async throws {
        let tree = TestTree("sock")
        defer { tree.cleanup() }
        let path = tree.path("control.sock")
        let listener = try UnixSocket.listen(at: path)
        defer { listener.close() }
        // Fill the backlog the way earlier callers did: connections nobody accepts.
        var pending: [Int32] = []
        defer { pending.forEach { close($0) } }
        while pending.count < 64 {
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | 0o4000 | 0o2_000_000, 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                for (i, byte) in path.utf8.enumerated() { raw[i] = byte }
            }
            let rc = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            if rc != 0 {
                close(fd)
                break
            }
            pending.append(fd)
        }
        #expect(pending.count < 64, "the backlog never filled")
        let started = ContinuousClock.now
        let deadline = Sys.monotonicNanos() + 1_000_000_000
        let answer = await offload { SplitEnder.exchange(SplitMessage(.end), socket: path, deadline: deadline) }
        // A 1 s deadline; the bound is loose for a loaded machine (before, it waited without end).
        #expect(ContinuousClock.now - started < .seconds(10))
        guard case .unreachable(let why) = answer else {
            Issue.record("expected unreachable, got \(answer)")
            return
        }
        #expect(why.contains("cannot connect to \(path)") && why.contains("timed out"), "\(why)")
    }
}
