import Foundation
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// `snaporch report --restore` from stored reports, and the restore records in the handler
/// status, bounded (issue 12, item 5).
@Suite(.timeLimit(.minutes(2)))
struct RestoreGuideTests {
    func report(_ restore: [(String, RestoreInfo)]) -> RunReport {
        var report = RunReport(runId: "20261207T000000000Z-abcdef", taskId: "task-1")
        report.outcome = .success
        report.consistency = .application
        report.snapshot.taken = true
        for (phase, info) in restore {
            var plugin = PluginReport(name: info.plugin, type: info.type, dropIn: false)
            var step = StepReport(status: .succeeded)
            step.restore = info
            if phase == "pre" { plugin.pre = step } else { plugin.post = step }
            report.plugins.append(plugin)
        }
        return report
    }

    func postgres(walDirectory: String? = nil, map: String? = nil) -> RestoreInfo {
        var info = RestoreInfo(plugin: "pg", type: "postgres", mode: "backup")
        info.dataDirectory = "/data/pg"
        info.walDirectory = walDirectory
        info.backupLabel =
            "START WAL LOCATION: 0/5000028 (file 000000010000000000000005)\nCHECKPOINT LOCATION: 0/5000060\nBACKUP METHOD: streamed\n"
        info.tablespaceMap = map
        info.startLSN = "0/5000028"
        info.stopLSN = "0/7000100"
        info.walFirst = "000000010000000000000005"
        info.walLast = "000000010000000000000007"
        return info
    }

    @Test func restoreStepsOfAStoredReportNameLabelWALSymlinkAndBinlog() async throws {
        let tree = TestTree("restore")
        defer { tree.cleanup() }
        var mysql = RestoreInfo(plugin: "maria", type: "mysql", mode: "backup-stage")
        mysql.binlogFile = "binlog.000007"
        mysql.binlogPosition = "1234"
        mysql.gtid = "0-1-99"
        let stored = report([("post", postgres(walDirectory: "/wal/pg_wal")), ("pre", mysql)])
        let file = tree.write("r.json", JSONOutput.encode(stored))
        let r = try await runCLI(["report", "--restore", file], env: tree.environment)
        #expect(r.code == 0, "\(r.stderr)")
        #expect(r.stdout.contains("       START WAL LOCATION: 0/5000028 (file 000000010000000000000005)"))
        #expect(r.stdout.contains("DATA/backup_label"))
        #expect(r.stdout.contains("segments 000000010000000000000005 through 000000010000000000000007"))
        #expect(r.stdout.contains("pg_wal is a symlink to /wal/pg_wal: re-point DATA/pg_wal"))
        #expect(r.stdout.contains("archive_mode = off"))
        #expect(r.stdout.contains("binary log: binlog.000007, position 1234") && r.stdout.contains("GTID: 0-1-99"))
        // A run id is looked up in the history; an unknown one is a clear error.
        try RunHistory(paths: Paths(root: tree.root)).append(stored)
        let byId = try await runCLI(["report", "--restore", stored.runId], env: tree.environment)
        #expect(byId.code == 0 && byId.stdout == r.stdout)
        let missing = try await runCLI(["report", "--restore", "nope"], env: tree.environment)
        #expect(missing.code == 1 && missing.stderr.contains("no run nope in the history"))
        // The summary of the same report points at the restore data.
        let summary = try await runCLI(["report", file], env: tree.environment)
        #expect(summary.stdout.contains("restore pg: backup_label"), "\(summary.stdout)")
        #expect(summary.stdout.contains("restore maria: binlog binlog.000007:1234; GTID 0-1-99"))
    }

    @Test func statusCarriesTheRestoreRecordsBoundedInTheirOwnSubstatus() throws {
        let huge = String(repeating: "16385 /tablespaces/a-long-tablespace-directory-name\n", count: 4000)
        let stored = report([("post", postgres(map: huge))])
        let parameters = HandlerStatusTests.parameters()
        let status = StatusMapper.status(for: stored, parameters: parameters, storage: (1, 1))
        let restore = try #require(status.restoreJSON)
        let records = try JSONDecoder().decode([RestoreInfo].self, from: Data(restore.utf8))
        #expect(records.first?.backupLabel == postgres().backupLabel)
        #expect(records.first?.truncated == ["tablespaceMap"])
        #expect(restore.utf8.count < 12 << 10, "\(restore.utf8.count) bytes")
        #expect(status.fileDocument().contains("SnapOrchestratorRestore"))
        #expect(status.blobDocument().contains("SnapOrchestratorRestore"))
        // A duplicate task's status repeats the stored report, and its restore records with it.
        let repeated = StatusMapper.restoreJSON(reportJSON: JSONOutput.encode(stored, pretty: false))
        #expect(repeated == restore)
        // No restore record, no entry: the golden documents of other runs are unchanged.
        let plain = StatusMapper.status(for: report([]), parameters: parameters, storage: (1, 1))
        #expect(plain.restoreJSON == nil && !plain.fileDocument().contains("SnapOrchestratorRestore"))
    }
}
