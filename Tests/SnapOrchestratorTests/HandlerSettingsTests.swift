import Foundation
import Glibc
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// HandlerEnvironment forms, settings selection, ownership codes, and recovery of a dead daemon.
@Suite(.timeLimit(.minutes(2)))
struct HandlerSettingsTests {
    @Test func handlerEnvironmentArrayAndObjectForms() throws {
        let inner =
            #"{"name": "X", "version": 1.0, "handlerEnvironment": {"logFolder": "/l", "configFolder": "/c", "statusFolder": "/s"}}"#
        let array = try HandlerEnvironment.parse(Data("[\(inner)]".utf8), file: "H")
        let object = try HandlerEnvironment.parse(Data(inner.utf8), file: "H")
        #expect(array == object && array.configFolder == "/c" && array.statusFolder == "/s")
        do throws(HandlerError) {
            _ = try HandlerEnvironment.parse(
                Data(#"[{"handlerEnvironment": {"logFolder": "/l"}}]"#.utf8), file: "H.json")
            Issue.record("accepted a HandlerEnvironment without configFolder")
        } catch {
            #expect(error.message == "H.json: missing 'handlerEnvironment.configFolder'")
        }
    }

    @Test func sequenceComesFromTheEnvironmentElseTheNewestSettingsFile() throws {
        let tree = TestTree("seq")
        defer { tree.cleanup() }
        for (n, age) in [(3, 30.0), (12, 20.0), (7, 10.0)] {
            let path = tree.write("config/\(n).settings", "{}")
            try FileManager.default.setAttributes(
                [.modificationDate: Date().addingTimeInterval(-age)], ofItemAtPath: path)
        }
        tree.write("config/notanumber.settings", "{}")
        #expect(SettingsFile.sequence(configFolder: tree.path("config"), environment: [:]) == 7)
        #expect(
            SettingsFile.sequence(configFolder: tree.path("config"), environment: ["ConfigSequenceNumber": "12"]) == 12)
        #expect(SettingsFile.sequence(configFolder: tree.path("nowhere"), environment: [:]) == nil)
    }

    @Test(.enabled(if: TestEnv.isRoot || TestEnv.isCI, "chown needs root"))
    func wrongOwnerGetsTheDistinctOwnershipCodes() throws {
        let tree = TestTree("own")
        defer { tree.cleanup() }
        let host = tree.write(
            "etc/azure/VMSnapshotPluginHost.conf",
            "[pre_post]\nnumberOfPlugins: 1\npluginConfigPath0: /etc/azure/p.json\n")
        let plugin = tree.write(
            "etc/azure/p.json", #"{"preScriptLocation": "/a", "postScriptLocation": "/b"}"#, mode: 0o600)
        chown(plugin, 65534, 65534)
        var (_, diagnostics) = LegacyConfig(paths: Paths(root: tree.root)).load()
        #expect(diagnostics.contains { $0.code?.rawValue == 318 })
        chown(host, 65534, 65534)
        (_, diagnostics) = LegacyConfig(paths: Paths(root: tree.root)).load()
        #expect(diagnostics.contains { $0.code?.rawValue == 315 })
    }

    @Test func aDaemonThatDiedStillGetsATerminalStatus() async throws {
        let tree = TestTree("dead")
        defer { tree.cleanup() }
        let handler = try await HandlerFixture(tree: tree)
        // A previous daemon (a pid that cannot exist) owned seq 7 and never finished.
        var state = HandlerState(sequence: 7)
        state.taskId = "task-7"
        state.phase = .running
        state.pid = 4_194_303
        state.save(statusFolder: handler.statusDir)
        tree.write("ext/status/7.status", "[]")
        try await handler.writeSettings(
            sequence: 8, publicSettings: HandlerFixture.publicSettings(taskId: "task-8", statusBlob: nil),
            protectedSettings: HandlerFixture.protectedSettings(disks: []))
        _ = try await handler.enableAndWait(sequence: 8, env: tree.environment)
        let lost = try #require(handler.statusBody(7))
        #expect(lost["code"] as? String == "2")
        #expect((HandlerFixture.message(lost)["messageStr"] as? String)?.contains("died before it finished") == true)
        #expect(HandlerState.load(statusFolder: handler.statusDir, sequence: 8)?.phase == .done)
        #expect(HandlerState.load(statusFolder: handler.statusDir, sequence: 7)?.phase == .done)
    }
}
