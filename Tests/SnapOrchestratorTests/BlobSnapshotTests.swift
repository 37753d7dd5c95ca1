import Foundation
import Glibc
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The blob provider and writer against the Blob REST emulator on 127.0.0.1.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct BlobSnapshotTests {
    func provider(_ disks: [String], timeout: TimeSpan = .seconds(5)) -> BlobSnapshotProvider {
        BlobSnapshotProvider(
            disks: disks.map(SASURI.init), metadata: [(key: "TaskId", value: "t-1")], timeout: timeout,
            client: CurlHTTPClient())
    }

    func disks(_ emulator: BlobEmulator, count: Int) async throws -> [String] {
        var uris: [String] = []
        for i in 0..<count {
            let uri = try await emulator.disk("disk\(i).vhd", size: 1024)
            uris.append(uri)
        }
        return uris
    }

    @Test func sixtyFourDisksTakeAboutOneLatencyNotSixtyFour() async throws {
        try await withBlobEmulator { emulator in
            let uris = try await disks(emulator, count: 64)
            _ = try await emulator.control(
                "POST", "faults", json: ["match": "/vhds/", "comp": "snapshot", "latency_ms": 200])
            let prepared = try await provider(uris).prepare()
            let start = Sys.monotonicNanos()
            let report = await prepared.take(deadlineNanos: start + 10_000_000_000)
            let elapsedMs = Double(Sys.monotonicNanos() - start) / 1e6
            #expect(report.taken && report.disks.allSatisfy(\.ok) && report.disks.count == 64)
            #expect(elapsedMs < 1000, "64 snapshots took \(elapsedMs) ms")
            let first = try #require(report.disks.first?.snapshot)
            #expect(first.hasPrefix("\(emulator.base)/devstoreaccount1/vhds/disk0.vhd?snapshot="))
            #expect(
                first.range(of: #"snapshot=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$"#, options: .regularExpression)
                    != nil)
            let blob = try await emulator.control("GET", "blob?path=/devstoreaccount1/vhds/disk3.vhd") as? [String: Any]
            let snapshots = blob?["snapshots"] as? [[String: Any]]
            #expect(snapshots?.count == 1)
            #expect(
                ((snapshots?.first?["metadata"] as? [String: Any])?.first { $0.key.lowercased() == "taskid" }?.value
                    as? String) == "t-1")
        }
    }

    @Test func serviceUnavailableWithRetryAfterIsRetried() async throws {
        try await withBlobEmulator { emulator in
            let uris = try await disks(emulator, count: 1)
            _ = try await emulator.control(
                "POST", "faults",
                json: ["match": "disk0", "comp": "snapshot", "status": 503, "retry_after": 1, "times": 1])
            let prepared = try await provider(uris).prepare()
            let report = await prepared.take(deadlineNanos: Sys.monotonicNanos() + 5_000_000_000)
            #expect(report.taken)
            #expect(report.disks[0].durationMs >= 900)
        }
    }

    @Test func rateExceededIsClassifiedAndBoundedByTheDeadline() async throws {
        try await withBlobEmulator { emulator in
            let uris = try await disks(emulator, count: 2)
            let body =
                "<?xml version=\"1.0\"?><Error><Code>SnapshotOperationRateExceeded</Code><Message>The rate of snapshot blob calls is exceeded.</Message></Error>"
            _ = try await emulator.control(
                "POST", "faults", json: ["match": "disk", "comp": "snapshot", "status": 409, "body": body])
            let prepared = try await provider(uris).prepare()
            let start = Sys.monotonicNanos()
            let report = await prepared.take(deadlineNanos: start + 2_000_000_000)
            #expect(Double(Sys.monotonicNanos() - start) / 1e6 < 2300)
            #expect(!report.taken)
            #expect(report.errorCode?.rawValue == 173)
        }
    }

    @Test func snapshotCountExceededIsPermanent() async throws {
        try await withBlobEmulator { emulator in
            let uris = try await disks(emulator, count: 2)
            let body =
                "<Error><Code>SnapshotCountExceeded</Code><Message>The snapshot count against this blob has been exceeded.</Message></Error>"
            _ = try await emulator.control(
                "POST", "faults", json: ["match": "disk1", "comp": "snapshot", "status": 409, "body": body])
            let report = await (try await provider(uris).prepare()).take(
                deadlineNanos: Sys.monotonicNanos() + 5_000_000_000)
            #expect(report.taken, "disk0 succeeded")
            #expect(report.errorCode?.rawValue == 85)
            #expect(report.disks[1].error?.contains("after 1 attempt(s)") == true)
        }
    }

    @Test func aHangingServerNeverStretchesTheWindowPastTheDeadline() async throws {
        try await withBlobEmulator { emulator in
            let uris = try await disks(emulator, count: 3)
            _ = try await emulator.control("POST", "faults", json: ["match": "disk", "comp": "snapshot", "hang": true])
            let prepared = try await provider(uris, timeout: .seconds(20)).prepare()
            let start = Sys.monotonicNanos()
            let report = await prepared.take(deadlineNanos: start + 1_000_000_000)
            let ms = Double(Sys.monotonicNanos() - start) / 1e6
            #expect(ms < 2500, "took \(ms) ms past a 1 s deadline (the hang lasts until the emulator stops)")
            #expect(!report.taken && report.errorCode?.rawValue == 76)
        }
    }

    @Test func droppedConnectionsAreRetried() async throws {
        try await withBlobEmulator { emulator in
            let uris = try await disks(emulator, count: 1)
            _ = try await emulator.control(
                "POST", "faults", json: ["match": "disk0", "comp": "snapshot", "drop": true, "times": 2])
            let report = await (try await provider(uris).prepare()).take(
                deadlineNanos: Sys.monotonicNanos() + 5_000_000_000)
            #expect(report.taken)
        }
    }

    @Test func anExpiredSASFailsBeforeAnyFreezeAndIsNotLeaked() async throws {
        try await withBlobEmulator { emulator in
            let good = try await disks(emulator, count: 1)
            let expired = try await emulator.sas("vhds", "disk0.vhd", expiryMinutes: -10)
            do throws(SnapshotError) {
                _ = try await provider(good + [expired]).prepare()
                Issue.record("prepare accepted an expired SAS")
            } catch {
                #expect(error.message.contains("disk0.vhd: the SAS was rejected"))
                #expect(!error.message.contains("sig="))
            }
        }
    }

    @Test func blobWriterWritesBlockAndPageBlobs() async throws {
        try await withBlobEmulator { emulator in
            let writer = BlobWriter(client: CurlHTTPClient())
            let block = try #require(BlobURI(SASURI(try await emulator.sas("status", "status.json"))))
            let doc = Data(#"{"status":"success"}"#.utf8)
            #expect(await writer.write(doc, to: block) == nil)
            let pageURI = try await emulator.sas("logs", "log.txt")
            let page = try #require(BlobURI(SASURI(pageURI)))
            try await emulator.createBlob(pageURI, pageBlobSize: 1024)
            let text = Data(String(repeating: "log line\n", count: 170).utf8)  // 1530 bytes: resized to 1536
            #expect(await writer.write(text, to: page) == nil)
            let (data, _) = try await URLSession.shared.data(from: page.url)
            #expect(data.count == 1536)
            #expect(data.prefix(text.count) == text)
            #expect(data.suffix(6).allSatisfy { $0 == 0x20 })
            let (blockData, _) = try await URLSession.shared.data(from: block.url)
            #expect(blockData == doc)
            let log = try await emulator.control("GET", "requests") as? [[String: Any]] ?? []
            #expect(log.allSatisfy { ($0["chunked"] as? Bool) != true }, "a body was sent chunked")
        }
    }

    @Test func statusUploadFailureIsRecordedAndBounded() async throws {
        try await withBlobEmulator { emulator in
            _ = try await emulator.control("POST", "faults", json: ["match": "status", "status": 500])
            let block = try #require(BlobURI(SASURI(try await emulator.sas("status", "status.json"))))
            let start = Date()
            let error = await BlobWriter(client: CurlHTTPClient(), budget: .seconds(5))
                .write(Data("{}".utf8), to: block)
            #expect(error?.contains("HTTP 500") == true)
            #expect(error?.contains("sig=") == false)
            #expect(Date().timeIntervalSince(start) < 5)
        }
    }
}
