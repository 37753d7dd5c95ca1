import Foundation
import Testing

@testable import SnapCore
@testable import SnapSystem

/// (Part of the database suite.) Backup mode on a server that does not archive WAL: the end of
/// the backup is only in the live `pg_wal` until it is recycled, so the restore guide must not send
/// the admin to an archive that does not exist, and must say what the label needs.
extension DatabasePluginTests {
    @Test func postgresBackupModeWithoutAWALArchiveSaysWhatTheLabelNeeds() async throws {
        let tree = TestTree("db")
        defer { tree.cleanup() }
        try await withDatabase("postgres", in: tree) { server in
            let off = try await server.psql("ALTER SYSTEM SET archive_mode = 'off';", database: "postgres")
            try #require(off.code == 0, "\(off.output)")
            let restart = try await sh(
                "runuser -u postgres -- \(server["BIN_DIR"])/pg_ctl -D \(server["PGDATA"]) -w -t 60 restart -m fast",
                timeout: 90)
            try #require(restart.code == 0, "\(restart.output)")
            let spec = try postgresBackupSpec(server, labelDir: tree.path("labels"))
            let plugin = PostgresPlugin(spec: spec)
            let pre = await plugin.pre(context(.pre, runId: "run-noarchive"))
            #expect(pre.ok, "\(pre.error ?? "")")
            let post = await plugin.post(context(.post, runId: "run-noarchive"))
            #expect(post.ok, "\(post.error ?? "")")
            #expect(post.restore?.archiveMode == "off")
            #expect(post.details?["walArchive"]?.hasPrefix("off") == true, "\(post.details ?? [:])")
            // The guide's lines are wrapped: compare its words.
            let guide = RestoreGuide.postgresBackup(try #require(post.restore)).joined(separator: "\n")
            let words = guide.split(whereSeparator: \.isWhitespace).joined(separator: " ")
            #expect(words.contains("does NOT archive WAL (archive_mode = off)"), "\(guide)")
            #expect(words.contains("restore the snapshot as a crash image instead"), "\(guide)")
            #expect(!words.contains("copy these segments from the WAL archive"), "\(guide)")
            #expect(!words.contains("The server archived with"), "\(guide)")
        }
    }
}
