import Foundation
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// The original's legacy files, read with their documented meaning, and the single-plugin matrix
/// of reference §3.5 reproduced through the real pipeline (real scripts; fake freeze and snapshot).
@Suite(.timeLimit(.minutes(2)))
struct LegacyConfigTests {
    struct Row: Sendable, CustomStringConvertible {
        var name: String
        var setup: String  // "none", "badjson", "badperms", "premissing", "ok", "prefail", "postfail"
        var freeze: Bool
        var continueOnFailure: Bool
        var snapshot: Bool
        var postRuns: Bool
        var code: Int
        var extCode: Int
        var description: String { name }
    }

    static let matrix: [Row] = [
        Row(
            name: "no plugin config", setup: "none", freeze: true, continueOnFailure: true, snapshot: true,
            postRuns: false, code: 1, extCode: 316),
        Row(
            name: "bad JSON", setup: "badjson", freeze: true, continueOnFailure: true, snapshot: true, postRuns: false,
            code: 1, extCode: 305),
        Row(
            name: "bad perms on config", setup: "badperms", freeze: true, continueOnFailure: true, snapshot: true,
            postRuns: false, code: 1, extCode: 317),
        Row(
            name: "pre missing, continue", setup: "premissing", freeze: true, continueOnFailure: true, snapshot: true,
            postRuns: false, code: 1, extCode: 302),
        Row(
            name: "pre missing, abort", setup: "premissing", freeze: true, continueOnFailure: false, snapshot: false,
            postRuns: false, code: 302, extCode: 302),
        Row(
            name: "pre and post succeed", setup: "ok", freeze: true, continueOnFailure: true, snapshot: true,
            postRuns: true, code: 0, extCode: 0),
        Row(
            name: "pre and post succeed, no freeze", setup: "ok", freeze: false, continueOnFailure: true,
            snapshot: true, postRuns: true, code: 1, extCode: 1),
        Row(
            name: "pre fails, continue", setup: "prefail", freeze: true, continueOnFailure: true, snapshot: true,
            postRuns: true, code: 1, extCode: 300),
        Row(
            name: "pre fails, abort", setup: "prefail", freeze: true, continueOnFailure: false, snapshot: false,
            postRuns: true, code: 300, extCode: 300),
        Row(
            name: "pre fails, no freeze", setup: "prefail", freeze: false, continueOnFailure: true, snapshot: false,
            postRuns: true, code: 300, extCode: 300),
        Row(
            name: "post fails, continue", setup: "postfail", freeze: true, continueOnFailure: true, snapshot: true,
            postRuns: true, code: 1, extCode: 301),
        Row(
            name: "post fails, abort", setup: "postfail", freeze: true, continueOnFailure: false, snapshot: true,
            postRuns: true, code: 1, extCode: 301),
    ]

    @Test(arguments: matrix)
    func singlePluginMatrix(_ row: Row) async throws {
        let tree = TestTree("legacy")
        defer { tree.cleanup() }
        let log = tree.path("order.log")
        tree.write(
            "etc/azure/VMSnapshotPluginHost.conf",
            """
            [pre_post]
            timeoutInSeconds: 1800
            numberOfPlugins: 1
            pluginName0: ScriptRunner
            pluginPath0: /etc/azure
            pluginConfigPath0: /etc/azure/VMSnapshotScriptPluginConfig.json
            """, mode: 0o644)
        // Legacy scripts run through /bin/sh: no shebang or exec bit needed.
        tree.write(
            "etc/azure/pre.sh", "echo pre >> \(log)\n" + (row.setup == "prefail" ? "exit 1\n" : "exit 0\n"), mode: 0o600
        )
        tree.write(
            "etc/azure/post.sh", "echo post >> \(log)\n" + (row.setup == "postfail" ? "exit 1\n" : "exit 0\n"),
            mode: 0o600)
        let json = """
            {"pluginName": "app", "preScriptLocation": "\(row.setup == "premissing" ? "/etc/azure/missing.sh" : "/etc/azure/pre.sh")",
             "postScriptLocation": "/etc/azure/post.sh", "preScriptParams": [], "postScriptParams": [],
             "preScriptNoOfRetries": 0, "postScriptNoOfRetries": 0, "timeoutInSeconds": 30,
             "continueBackupOnFailure": \(row.continueOnFailure), "fsFreezeEnabled": \(row.freeze)}
            """
        switch row.setup {
        case "none": break
        case "badjson": tree.write("etc/azure/VMSnapshotScriptPluginConfig.json", "{ not json", mode: 0o600)
        case "badperms": tree.write("etc/azure/VMSnapshotScriptPluginConfig.json", json, mode: 0o644)
        default: tree.write("etc/azure/VMSnapshotScriptPluginConfig.json", json, mode: 0o600)
        }
        let (config, diagnostics) = LegacyConfig(paths: Paths(root: tree.root)).load()
        var plan = Planner(environment: [:]).plan(config, options: RunOptions())
        plan.mounts = plan.freezes ? [fakeMount("/data")] : []
        plan.mountErrors = []
        let orchestrator = Orchestrator(
            launcher: PosixProcessLauncher(), freezer: FakeFreezer(), makeProvider: { _ in FakeSnapshot() },
            journal: nil)
        var report = await orchestrator.execute(plan, runId: "r")
        for d in diagnostics where d.severity != .note {
            if let code = d.code {
                report.errors.append(ErrorEntry(code, d.rendered))
            }
        }
        var p = BackupParameters()
        p.taskId = "t"
        let status = StatusMapper.status(for: report, parameters: p)
        let lines = (tree.read("order.log") ?? "").split(separator: "\n").map(String.init)
        #expect(report.snapshot.taken == row.snapshot, "snapshot")
        #expect(lines.contains("post") == row.postRuns, "post ran: \(lines)")
        #expect(status.code == row.code, "status code \(status.code), report \(report.errors.map(\.code))")
        #expect(status.extErrorCode == row.extCode, "ext code")
    }

    @Test func workloadConfMapsToTheDatabasePlugins() {
        let tree = TestTree("legacy")
        defer { tree.cleanup() }
        tree.write(
            "etc/azure/workload.conf",
            "[workload]\nworkload_name = mariadb\ncredString = --defaults-extra-file=/etc/azure/my.cnf\ntimeout = 90\n")
        var (config, diagnostics) = LegacyConfig(paths: Paths(root: tree.root)).load()
        #expect(config.plugins.first?.kind == .mysql)
        #expect(config.plugins.first?.database["defaults_file"] == tree.path("etc/azure/my.cnf"))
        #expect(config.plugins.first?.timeout == .seconds(90))
        tree.write("etc/azure/workload.conf", "[workload]\nworkload_name = mysql\ncredString = -uroot -psecret\n")
        (config, diagnostics) = LegacyConfig(paths: Paths(root: tree.root)).load()
        #expect(config.plugins.isEmpty)
        #expect(diagnostics.contains { $0.code?.rawValue == 505 && !$0.message.contains("secret") })
        tree.write("etc/azure/workload.conf", "[workload]\nworkload_name = postgres\nlinux_user = pgadmin\n")
        (config, _) = LegacyConfig(paths: Paths(root: tree.root)).load()
        #expect(config.plugins.first?.kind == .postgres && config.plugins.first?.database["os_user"] == "pgadmin")
    }

    @Test func vmbackupConfIsReadWithItsMeaning() {
        let tree = TestTree("legacy")
        defer { tree.cleanup() }
        tree.write(
            "etc/azure/vmbackup.conf",
            """
            [SnapshotThread]
            timeout = 45
            MountsToSkip = /mnt/resource, /data/scratch* ,/backup
            seqsnapshot = 1
            SnapshotMethod = onlyHost
            """)
        let (config, diagnostics) = LegacyConfig(paths: Paths(root: tree.root)).load()
        #expect(config.freeze.timeout == .seconds(45))
        #expect(config.freeze.exclude.suffix(3) == ["/mnt/resource", "/data/scratch*", "/backup"])
        #expect(config.snapshot.method == .onlyHost)
        #expect(diagnostics.contains { $0.message.contains("seqsnapshot = 1 is ignored") })
        #expect(
            diagnostics.contains { $0.code?.rawValue == 313 }, "a missing plugin host config is reported, not silent")
        let selector = MountSelector(explicit: [], exclude: config.freeze.exclude, allowList: nil)
        #expect(selector.reasonToSkip(fakeMount("/data/scratch01"))?.contains("excluded") == true)
    }

    /// The legacy files' opt-out of the RCU knob (issue 13 item 4); on by default, like the YAML key.
    @Test(arguments: [("expedite_rcu = false\n", false), ("", true)])
    func vmbackupConfCanOptOutOfTheRCUKnob(_ line: String, _ expected: Bool) {
        let tree = TestTree("legacy")
        defer { tree.cleanup() }
        tree.write("etc/azure/vmbackup.conf", "[SnapshotThread]\ntimeout = 45\n" + line)
        let (config, diagnostics) = LegacyConfig(paths: Paths(root: tree.root)).load()
        #expect(config.freeze.expediteRCU == expected)
        #expect(diagnostics.contains { $0.message.contains("rcu_expedited is never touched") } == !expected)
    }

    @Test func validateExplainsLegacyFilesAndEmitsEquivalentYAML() async throws {
        let tree = TestTree("legacy")
        defer { tree.cleanup() }
        tree.write(
            "etc/azure/VMSnapshotPluginHost.conf",
            "[pre_post]\ntimeoutInSeconds: 600\nnumberOfPlugins: 1\npluginName0: ScriptRunner\npluginPath0: /etc/azure\npluginConfigPath0: /etc/azure/VMSnapshotScriptPluginConfig.json\n",
            mode: 0o644)
        tree.write("etc/azure/pre.sh", "exit 0\n", mode: 0o700)
        tree.write("etc/azure/post.sh", "exit 0\n", mode: 0o700)
        tree.write(
            "etc/azure/VMSnapshotScriptPluginConfig.json",
            """
            {"pluginName": "app", "preScriptLocation": "/etc/azure/pre.sh", "postScriptLocation": "/etc/azure/post.sh",
             "preScriptParams": ["--fast"], "timeoutInSeconds": 3000, "continueBackupOnFailure": false, "fsFreezeEnabled": true}
            """, mode: 0o600)
        tree.write("etc/azure/workload.conf", "[workload]\nworkload_name = oracle\n")
        let r = try await runCLI(["validate"], env: tree.environment)
        #expect(r.code == 0, "\(r.stderr)")
        #expect(r.stderr.contains("reading the legacy VMSnapshot configuration"))
        #expect(r.stderr.contains("plugin 'app': pre /etc/azure/pre.sh [\"--fast\"]"))
        #expect(r.stderr.contains("timeout 10m"), "timeoutInSeconds 3000 is capped by the host's 600")
        #expect(
            r.stderr.contains(
                "503 FailedWorkloadInvalidWorkloadName: workload_name = oracle is not supported"))
        let yaml = try await runCLI(["validate", "--emit-yaml"], env: tree.environment)
        #expect(yaml.code == 0)
        let (config, diagnostics) = ConfigDecoder(file: "emitted.yaml").decode(Array(yaml.stdout.utf8))
        #expect(diagnostics.filter { $0.severity == .error }.isEmpty, "\(diagnostics.map(\.rendered))")
        #expect(config?.plugins.first?.onFailure == .abort)
        #expect(config?.plugins.first?.args == ["--fast"])
        #expect(config?.preTimeout == .seconds(600))
    }
}
