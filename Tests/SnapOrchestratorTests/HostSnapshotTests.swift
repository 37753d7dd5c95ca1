import Foundation
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// The host snapshot path and the method selection, against a fake wire server on 127.0.0.1.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct HostSnapshotTests {
    func host(_ server: BlobEmulator, luns: [Int] = [-1, 0, 1]) -> HostSnapshotProvider {
        HostSnapshotProvider(
            endpoint: "127.0.0.1:\(server.port)",
            request: HostSnapshotRequest(
                taskId: "task-7", snapshotTaskToken: "tok", diskIds: luns,
                settings: ["isSnapshotTtlEnabled": false], metadata: ["TaskId": "task-7"]),
            timeout: .seconds(5), client: CurlHTTPClient())
    }

    @Test(arguments: [false, true])
    func hostSnapshotsAcceptStringOrBoolSuccess(_ boolSuccess: Bool) async throws {
        try await withWireServer { server in
            _ = try await server.control("POST", "config", json: ["bool_success": boolSuccess, "fail_disks": [1]])
            let report = await (try await host(server).prepare()).take(
                deadlineNanos: Sys.monotonicNanos() + 5_000_000_000)
            #expect(report.taken)
            #expect(report.disks.map(\.ok) == [true, true, false])
            #expect(report.disks[0].blob == "https://acct.blob.core.windows.net/vhds/lun-1.vhd")
            #expect(report.errorCode?.rawValue == 761)
            let requests = try await server.control("GET", "requests") as? [[String: Any]] ?? []
            #expect(
                requests.map { ($0["path"] as? String)?.split(separator: "?").first.map(String.init) ?? "" }
                    == ["/metadata/recsvc/snapshot/presnapshot", "/metadata/recsvc/snapshot/dosnapshot"])
            let doBody = requests.last?["body"] as? [String: Any]
            #expect(doBody?["diskIds"] as? [Int] == [-1, 0, 1])
            #expect(doBody?["snapshotTaskToken"] as? String == "tok")
            #expect((doBody?["snapshotMetadata"] as? [[String: Any]])?.first?["Key"] as? String == "TaskId")
            #expect((requests.last?["headers"] as? [String: String])?["backup"] == "true")
        }
    }

    @Test func hostDownFailsBeforeTheWindow() async throws {
        let provider = HostSnapshotProvider(
            endpoint: "127.0.0.1:1", request: HostSnapshotRequest(taskId: "t"), timeout: .seconds(2),
            client: CurlHTTPClient())
        do throws(SnapshotError) {
            _ = try await provider.prepare()
            Issue.record("prepare succeeded against a closed port")
        } catch {
            #expect(error.message.contains("no answer from the wire server 127.0.0.1:1"))
        }
    }

    @Test func dosnapshotIsCutAtTheDeadline() async throws {
        try await withWireServer { server in
            _ = try await server.control("POST", "config", json: ["hang": true])
            let prepared = try await host(server).prepare()
            let start = Sys.monotonicNanos()
            let report = await prepared.take(deadlineNanos: start + 700_000_000)
            #expect(
                Double(Sys.monotonicNanos() - start) / 1e6 < 2000, "the dosnapshot call outlived its 0.7 s deadline")
            #expect(!report.taken && report.errorCode?.rawValue == 76)
        }
    }

    @Test func firstHostThenGuestFallsBackToTheGuestWhenTheHostIsDown() async throws {
        try await withBlobEmulator { emulator in
            let disk = try await emulator.disk("d0.vhd", size: 1024)
            let client = CurlHTTPClient()
            let method = MethodSnapshotProvider(
                method: .firstHostThenGuest,
                guest: BlobSnapshotProvider(disks: [SASURI(disk)], timeout: .seconds(3), client: client),
                host: HostSnapshotProvider(
                    endpoint: "127.0.0.1:1", request: HostSnapshotRequest(taskId: "t"),
                    timeout: .seconds(2), client: client))
            let report = await (try await method.prepare()).take(deadlineNanos: Sys.monotonicNanos() + 3_000_000_000)
            #expect(report.taken && report.provider == .blob)
        }
    }

    @Test func firstGuestThenHostUsesTheHostWhenEveryGuestSnapshotFails() async throws {
        try await withWireServer { server in
            try await withBlobEmulator { emulator in
                let disk = try await emulator.disk("d0.vhd", size: 1024)
                _ = try await emulator.control(
                    "POST", "faults", json: ["match": "d0", "comp": "snapshot", "status": 409])
                let method = MethodSnapshotProvider(
                    method: .firstGuestThenHost,
                    guest: BlobSnapshotProvider(
                        disks: [SASURI(disk)], timeout: .seconds(3), client: CurlHTTPClient()),
                    host: host(server, luns: [-1]))
                let report = await (try await method.prepare()).take(
                    deadlineNanos: Sys.monotonicNanos() + 5_000_000_000)
                #expect(report.taken && report.provider == .host)
            }
        }
    }
}
