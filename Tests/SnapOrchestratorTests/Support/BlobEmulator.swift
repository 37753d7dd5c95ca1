import Foundation
import Glibc
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The Python Blob REST emulator of `Tests/Support/`, started on 127.0.0.1 with an OS-chosen port.
final class BlobEmulator: @unchecked Sendable {
    static let supportDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Support").path
    let child: ChildProcess
    let port: Int
    let outputFile: String
    var base: String { "http://127.0.0.1:\(port)" }
    let account = "devstoreaccount1"

    init(script: String = "blob_emulator.py", arguments: [String] = []) throws {
        // Output goes to a file, never to an undrained pipe that could fill up and stall the server.
        outputFile = "/tmp/snaporch-emulator-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).out"
        child = try ChildProcess.spawn(
            executable: "/bin/sh",
            arguments: [
                "-c", "out=$1; shift; exec python3 \"$0\" --port 0 \"$@\" >\"$out\" 2>/dev/null",
                Self.supportDir + "/" + script, outputFile,
            ] + arguments,
            environment: ["PATH": "/usr/bin:/bin"], workingDirectory: systemRoot)
        var found: Int?
        for _ in 0..<1000 where found == nil {
            let text = (try? String(contentsOfFile: outputFile, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("LISTENING ") }) {
                found = Int(line.dropFirst("LISTENING ".count))
            } else {
                usleep(10_000)
            }
        }
        guard let found else {
            child.terminate([TeardownStep(signal: SIGKILL, allowed: .seconds(2))])
            throw TestFailure("blob emulator did not start")
        }
        port = found
    }

    /// A blob SAS URI signed with the emulator's account key.
    func sas(_ container: String, _ blob: String, perm: String = "racwd", expiryMinutes: Int = 60) async throws
        -> String
    {
        let r = try await sh(
            "python3 \(Self.supportDir)/make_sas.py \(base) \(account) \(container) \(blob) --perm \(perm) --expiry-minutes \(expiryMinutes)"
        )
        guard r.code == 0 else { throw TestFailure("make_sas failed: \(r.output)") }
        return r.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Calls the control API and returns the decoded JSON.
    func control(_ method: String, _ path: String, json: [String: Any]? = nil) async throws -> Any? {
        var request = URLRequest(url: URL(string: "\(base)/__control/\(path)")!)
        request.httpMethod = method
        if let json {
            request.httpBody = try JSONSerialization.data(withJSONObject: json)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, _) = try await URLSession.shared.data(for: request)
        return data.isEmpty ? nil : try? JSONSerialization.jsonObject(with: data)
    }

    /// Creates a page or block blob so that snapshots have something to snapshot.
    func createBlob(_ sasURI: String, pageBlobSize: Int? = nil) async throws {
        var request = URLRequest(url: URL(string: sasURI)!)
        request.httpMethod = "PUT"
        if let size = pageBlobSize {
            request.setValue("PageBlob", forHTTPHeaderField: "x-ms-blob-type")
            request.setValue(String(size), forHTTPHeaderField: "x-ms-blob-content-length")
            request.httpBody = Data()
        } else {
            request.setValue("BlockBlob", forHTTPHeaderField: "x-ms-blob-type")
            request.httpBody = Data("disk".utf8)
        }
        let (_, response) = try await URLSession.shared.data(for: request)
        guard (response as? HTTPURLResponse)?.statusCode == 201 else { throw TestFailure("create blob failed") }
    }

    /// The SAS URI of a new page blob `name` of `size` bytes in container `vhds`: a disk to snapshot.
    func disk(_ name: String, size: Int = 4096) async throws -> String {
        let uri = try await sas("vhds", name)
        try await createBlob(uri, pageBlobSize: size)
        return uri
    }

    func stop() {
        child.terminate([
            TeardownStep(signal: SIGTERM, toGroup: false, allowed: .seconds(10)),
            TeardownStep(signal: SIGKILL, allowed: .seconds(2)),
        ])
        child.closePipes()
        unlink(outputFile)
    }
}

extension BlobEmulator {
    /// Starts a server off the cooperative thread pool: waiting for it to listen blocks a thread,
    /// and a blocked pool thread (two on this machine) stalls every other test of the process.
    static func start(script: String = "blob_emulator.py", arguments: [String] = []) async throws -> BlobEmulator {
        let result = await offload { () -> Result<BlobEmulator, any Error> in
            Result { try BlobEmulator(script: script, arguments: arguments) }
        }
        return try result.get()
    }
}

/// Runs `body` with the fake wire server (host snapshot endpoint) and always stops it.
func withWireServer(_ body: (BlobEmulator) async throws -> Void) async throws {
    let server = try await BlobEmulator.start(script: "wireserver_fake.py")
    do {
        try await body(server)
    } catch {
        server.stop()
        throw error
    }
    server.stop()
}

/// Runs `body` with a started emulator and always stops it.
func withBlobEmulator(_ body: (BlobEmulator) async throws -> Void) async throws {
    let emulator = try await BlobEmulator.start()
    do {
        try await body(emulator)
    } catch {
        emulator.stop()
        throw error
    }
    emulator.stop()
}
