import Foundation
import Glibc
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// (Part of the serialized database suite: one private server set at a time.)
/// Whole runs with the database plugins: a restore drill of a frozen PostgreSQL image, and a full
/// cycle with both databases, a script, loop mounts and the blob emulator.
extension DatabasePluginTests {
    @Test func restoreDrillOfACheckpointModeImageNeedsNoBackupLabel() async throws {
        try await withFreezeFixture { fx in
            let tree = fx.tree
            let disk = try await fx.loop("pgdisk", sizeMB: 256)
            try await withDatabase("postgres", at: disk.mountPoint + "/pg") { server in
                _ = try await server.psql("INSERT INTO t (v) SELECT 'before-' || g FROM generate_series(1, 200) g;")
                let committed = try await server.psql("SELECT count(*) FROM t;").output.trimmingCharacters(
                    in: .whitespacesAndNewlines)
                let copy = tree.path("copy")
                let snap = tree.script("s/snap.sh", "cp -a \(disk.mountPoint)/pg/data \(copy)")
                let config = tree.write(
                    TestConfig(
                        freeze: .on(timeout: "20s", mounts: [disk.mountPoint]),
                        snapshot: .command([snap], timeout: "15s"), plugins: [.postgresPeer(on: server)]))
                let r = try await RunFixture(tree, freezing: [disk]).run(config, ["--json"], timeout: 120)
                #expect(r.code == 0, "\(r.stderr)")
                let report = try r.report()
                #expect(report.consistency == .application)
                #expect(report.plugins[0].pre?.details?["checkpoint"] == "done")
                // Start a server on the copy, as a restore would, and count the rows.
                let port = try await DatabaseServer.freePort()
                let sock = tree.path("sock")
                let start = try await sh(
                    """
                    rm -f \(copy)/postmaster.pid && mkdir -p \(sock) && chown -R postgres \(copy) \(sock) && \
                    runuser -u postgres -- \(server["BIN_DIR"])/pg_ctl -D \(copy) -l \(sock)/copy.log -w -t 60 \
                      -o "-p \(port) -k \(sock) -c archive_mode=off -c listen_addresses=''" start
                    """, timeout: 120)
                #expect(start.code == 0, "the copy did not start: \(start.output)")
                #expect(!FileManager.default.fileExists(atPath: copy + "/backup_label"))
                let rows = try await sh(
                    "runuser -u postgres -- psql -X -q -A -t -h \(sock) -p \(port) -d snaporch_test -c 'SELECT count(*) FROM t;'"
                )
                #expect(
                    rows.output.trimmingCharacters(in: .whitespacesAndNewlines) == committed,
                    "restored rows \(rows.output) vs \(committed)")
                _ = try await sh(
                    "runuser -u postgres -- \(server["BIN_DIR"])/pg_ctl -D \(copy) -m immediate stop", timeout: 60)
            }
        }
    }

    @Test func fullRunWithBothDatabasesAScriptLoopMountsAndBlobs() async throws {
        try await withFreezeFixture { fx in
            try await withBlobEmulator { emulator in
                let tree = fx.tree
                // Both servers keep their files on the frozen filesystem: only then is the snapshot
                // application-consistent (a server outside the frozen set fails its plugin).
                let m = try await fx.loop(sizeMB: 384)
                try await withDatabase("mariadb", at: m.mountPoint + "/mariadb") { maria in
                    try await withDatabase("postgres", at: m.mountPoint + "/postgres") { pg in
                        let log = tree.path("order.log")
                        let app = tree.script("s/app.sh", "echo $SNAPORCH_PHASE:app >> \(log)")
                        let config = tree.write(
                            TestConfig(
                                freeze: .on(timeout: "10s", mounts: [m.mountPoint]), snapshot: .blob(timeout: "5s"),
                                plugins: [
                                    .mysql("mariadb", on: maria),
                                    .postgresBackup("postgres", on: pg, labelDir: tree.path("labels")),
                                    .script("app", pre: app, post: app),
                                ]))
                        var args = ["--json"]
                        for i in 0..<2 {
                            let uri = try await emulator.disk("d\(i).vhd")
                            // Through a root-only file: no SAS in any argv (another suite scans them).
                            args += ["--disk", "@" + tree.write("d\(i).sas", uri + "\n", mode: 0o600)]
                        }
                        let r = try await RunFixture(tree, freezing: [m]).run(config, args, timeout: 120)
                        #expect(r.code == 0, "\(r.stderr)")
                        let report = try r.report()
                        #expect(report.consistency == .application && report.outcome == .success, "\(report.reasons)")
                        let posts = report.timeline.map(\.step.rawValue).filter { $0.hasPrefix("post:") }
                        #expect(posts == ["post:app", "post:postgres", "post:mariadb"])
                        #expect(report.plugins[0].hold?.details?["binlogFile"] != nil)
                        #expect(report.plugins[1].post?.details?["backupLabel"] != nil)
                        // Restore data of both databases, in plugin order.
                        #expect(report.restorePoints.map(\.type) == ["mysql", "postgres"])
                        #expect(
                            report.restorePoints.first?.binlogFile == report.plugins[0].hold?.details?["binlogFile"])
                        #expect(
                            report.restorePoints.first?.gtid
                                == report.plugins[0].hold?.details?["gtidBinlogPos"]?.nilIfEmpty)
                        #expect(report.restorePoints.last?.backupLabel?.contains("START WAL LOCATION") == true)
                        #expect(tree.read("order.log") == "pre:app\npost:app\n")
                        let json = String(decoding: try JSONEncoder().encode(report), as: UTF8.self)
                        #expect(!json.contains("sig="))
                    }
                }
            }
        }
    }
}
