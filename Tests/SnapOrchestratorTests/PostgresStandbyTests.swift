import Foundation
import Testing

@testable import SnapCore
@testable import SnapSystem

/// (Part of the database suite.) Backup mode on a streaming standby: PostgreSQL allows a
/// non-exclusive backup in recovery, but functions such as `pg_walfile_name()` refuse to run there.
/// The label must still be stored, and the restore record must not name WAL files it cannot know.
extension DatabasePluginTests {
    @Test func postgresBackupModeOnAStandbyStoresTheLabel() async throws {
        let tree = TestTree("db")
        defer { tree.cleanup() }
        try await withDatabase("postgres", in: tree) { primary in
            try await withStandby(of: primary, in: tree) { socketDir, port in
                var spec = PluginSpec(name: "pg", kind: .postgres)
                spec.database = try .decoded(
                    .postgres,
                    [
                        "host": socketDir, "port": "\(port)", "user": "snaporch_peer", "os_user": "postgres",
                        "mode": "backup", "label_dir": tree.path("labels"),
                    ])
                let plugin = PostgresPlugin(spec: spec)
                let pre = await plugin.pre(context(.pre, runId: "run-standby-1"))
                #expect(pre.ok, "\(pre.error ?? "")")
                let startLSN = try #require(pre.details?["startLSN"])
                let post = await plugin.post(context(.post, runId: "run-standby-1"))
                #expect(post.ok, "\(post.error ?? "")")
                let label = tree.read("labels/run-standby-1/backup_label") ?? ""
                #expect(label.contains("START WAL LOCATION: \(startLSN)"), "no label stored: \(post.details ?? [:])")
                #expect(label.contains("BACKUP FROM: standby"), "\(label)")
                #expect(post.details?["stopLSN"]?.isEmpty == false)
                #expect(post.details?["verified"] == "session gone")
                // The WAL segment names are unknown in recovery: none is claimed.
                #expect(
                    post.restore?.walLast == nil && post.restore?.walFirst == nil, "\(String(describing: post.restore))"
                )
                #expect(post.restore?.backupLabel?.contains(startLSN) == true)
            }
        }
    }

    /// Runs `body` with a streaming standby of `primary` (its socket directory and port), always
    /// stopped afterwards.
    func withStandby(of primary: DatabaseServer, in tree: TestTree, _ body: (String, Int) async throws -> Void)
        async throws
    {
        let directory = tree.path("standby")
        let stop = "\(DatabaseServer.scripts)/postgres-stop.sh \(directory)"
        let port = try await DatabaseServer.freePort()
        let started = try await sh(
            "\(DatabaseServer.scripts)/postgres-standby.sh \(primary.directory) \(directory) \(port)", timeout: 180)
        guard started.code == 0 else {
            _ = try? await sh(stop, timeout: 120)
            throw TestFailure("postgres-standby.sh failed: \(started.output.suffix(2000))")
        }
        do {
            try await body(directory + "/run", port)
        } catch {
            _ = try? await sh(stop, timeout: 120)
            throw error
        }
        _ = try? await sh(stop, timeout: 120)
    }
}
