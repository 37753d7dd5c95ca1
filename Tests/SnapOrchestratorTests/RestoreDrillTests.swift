import Foundation
import Glibc
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// (Part of the serialized database suite: one private server set at a time.)
/// A backup-mode snapshot restored with nothing but what the run recorded (issue 12, item 5).
extension DatabasePluginTests {
    @Test func backupModeImageRestoresFromTheReportAlone() async throws {
        try await withFreezeFixture { fx in
            let tree = fx.tree
            let disk = try await fx.loop("pgdisk", sizeMB: 256)
            let server = try await DatabaseServer.start("postgres", in: disk.mountPoint + "/pg")
            var copyData: String?
            do {
                _ = try await server.psql("INSERT INTO t (v) SELECT 'before-' || g FROM generate_series(1, 300) g;")
                // The "snapshot": a sparse copy of the whole image, taken inside the window.
                let image = tree.path("snapshot.img")
                let snap = tree.script("s/snap.sh", "cp --sparse=always \(disk.image) \(image)")
                let config = tree.write(
                    TestConfig(
                        freeze: .on(timeout: "20s", mounts: [disk.mountPoint]),
                        snapshot: .command([snap], timeout: "15s"),
                        plugins: [.postgresPeer(on: server, ["mode": "backup", "label_dir": tree.path("labels")])]))
                let fixture = RunFixture(tree, freezing: [disk])
                let r = try await fixture.run(config, ["--json"], timeout: 120)
                #expect(r.code == 0, "\(r.stderr)")
                let report = try r.report()
                #expect(report.consistency == .application, "\(report.reasons)")
                let committed = try await server.psql("SELECT count(*) FROM t;").output.trimmingCharacters(
                    in: .whitespacesAndNewlines)
                // Written after the backup ended: must not be in the restored copy.
                _ = try await server.psql("INSERT INTO t (v) SELECT 'after-' || g FROM generate_series(1, 50) g;")

                // The run summary names what a restore needs.
                #expect(r.stderr.contains("restore pg: backup_label"), "\(r.stderr)")
                #expect(r.stderr.contains("snaporch report --restore \(report.runId)"))

                // Everything below comes from `report --restore` (text and JSON), nothing else.
                let text = try await fixture.report(["--restore", report.runId])
                #expect(text.code == 0, "\(text.stderr)")
                let json = try await fixture.report(["--restore", report.runId, "--json"])
                let info = try #require(
                    try JSONDecoder().decode([RestoreInfo].self, from: Data(json.stdout.utf8)).first)
                let label = try #require(info.backupLabel)
                let first = try #require(info.walFirst)
                let last = try #require(info.walLast)
                let dataDirectory = try #require(info.dataDirectory)
                let archiveCommand = try #require(info.archiveCommand)
                #expect(label.contains("START WAL LOCATION") && label.contains("(file \(first))"), "\(label)")
                #expect(text.stdout.contains(label.split(separator: "\n")[0]), "the label text is printed")
                #expect(text.stdout.contains("DATA/backup_label"))
                #expect(text.stdout.contains("segments \(first) through \(last)"), "\(text.stdout)")
                #expect(text.stdout.contains("archive_mode = off"))
                #expect(archiveCommand.contains(server["ARCHIVE_DIR"]), "the archive is named: \(archiveCommand)")

                // Restore: mount the snapshot copy; DATA is the data directory inside it.
                let restored = try await fx.mountImage(image, at: "restored")
                #expect(dataDirectory.hasPrefix(disk.mountPoint + "/"))
                let data = restored + dataDirectory.dropFirst(disk.mountPoint.count)
                copyData = data
                try Data(label.utf8).write(to: URL(fileURLWithPath: data + "/backup_label"))
                if let map = info.tablespaceMap {
                    try Data(map.utf8).write(to: URL(fileURLWithPath: data + "/tablespace_map"))
                }
                // The WAL the report names, from the archive (wait until the last one is archived).
                let archive = server["ARCHIVE_DIR"]
                let waited = try await sh(
                    "for i in $(seq 300); do [ -f \(archive)/\(last) ] && exit 0; sleep 0.1; done; exit 1", timeout: 60)
                #expect(waited.code == 0, "\(last) was never archived")
                let names = try FileManager.default.contentsOfDirectory(atPath: archive).filter {
                    $0.count == 24 && $0 >= first && $0 <= last
                }.sorted()
                #expect(names.first == first && names.last == last, "\(names)")
                for name in names {
                    _ = try await sh("cp -f \(archive)/\(name) \(data)/pg_wal/\(name)")
                }
                let port = try await DatabaseServer.freePort()
                let sock = tree.path("sock")
                let start = try await sh(
                    """
                    rm -f \(data)/postmaster.pid \(data)/postmaster.opts && mkdir -p \(sock) && \
                    chown -R postgres \(data) \(sock) && chmod 0600 \(data)/backup_label && \
                    runuser -u postgres -- \(server["BIN_DIR"])/pg_ctl -D \(data) -l \(sock)/copy.log -w -t 60 \
                      -o "-p \(port) -k \(sock) -c archive_mode=off -c listen_addresses=''" start
                    """, timeout: 120)
                let log = (try? String(contentsOfFile: sock + "/copy.log", encoding: .utf8)) ?? ""
                #expect(start.code == 0, "the restored copy did not start: \(start.output)\n\(log)")
                #expect(log.contains("consistent recovery state reached"), "\(log)")
                let rows = try await sh(
                    "runuser -u postgres -- psql -X -q -A -t -h \(sock) -p \(port) -d snaporch_test -c \"SELECT count(*), count(*) FILTER (WHERE v LIKE 'after-%') FROM t;\""
                )
                #expect(
                    rows.output.trimmingCharacters(in: .whitespacesAndNewlines) == "\(committed)|0",
                    "restored rows \(rows.output) vs \(committed) committed before the backup ended")
            } catch {
                if let copyData { await stopCopy(copyData, server) }
                await server.stop()
                throw error
            }
            if let copyData { await stopCopy(copyData, server) }
            await server.stop()
        }
    }

    /// Stops a PostgreSQL started on a restored copy (a no-op when it is not running).
    func stopCopy(_ data: String, _ server: DatabaseServer) async {
        _ = try? await sh(
            "runuser -u postgres -- \(server["BIN_DIR"])/pg_ctl -D \(data) -m immediate -w -t 30 stop >/dev/null 2>&1; true",
            timeout: 60)
    }
}
