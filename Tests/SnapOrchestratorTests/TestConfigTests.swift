import Foundation
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// The test fixture builder writes the config it is asked for: its YAML, read by the real config
/// decoder, holds every typed piece, at the lines the tests' diagnostics name.
@Suite struct TestConfigTests {
    func decode(_ config: TestConfig) throws -> Config {
        let (decoded, diagnostics) = ConfigDecoder(file: "c.yaml").decode(Array(config.yaml.utf8))
        guard let decoded, diagnostics.isEmpty else {
            throw TestFailure(
                "the built config does not decode cleanly: \(diagnostics.map(\.rendered))\n\(config.yaml)")
        }
        return decoded
    }

    @Test func freezeSnapshotCommandAndScriptPluginsDecodeAsBuilt() throws {
        let config = try decode(
            TestConfig(
                freeze: .on(timeout: "20s", mounts: ["/a", "/b"]),
                snapshot: .command(["/s/snap", "x"], timeout: "15s"),
                options: ["kill_grace": "200ms", "scripts_dir": "/etc/d"],
                plugins: [
                    .script(
                        "app", pre: "/s/pre", post: "/s/post", args: ["p", "q"], ["retries": "2", "timeout": "1s"]),
                    .script("flaky", pre: "/s/bad", ["on_failure": "abort"]),
                ]))
        #expect(config.freeze.enabled && config.freeze.timeout == .seconds(20) && config.freeze.mounts == ["/a", "/b"])
        #expect(config.snapshot.provider == .command && config.snapshot.command == ["/s/snap", "x"])
        #expect(config.snapshot.timeout == .seconds(15))
        #expect(config.killGrace == TimeSpan(milliseconds: 200) && config.scriptsDir == "/etc/d")
        let app = try #require(config.plugins.first)
        #expect(app.name == "app" && app.kind == .script && app.pre == "/s/pre" && app.post == "/s/post")
        #expect(app.args == ["p", "q"] && app.retries == 2 && app.timeout == .seconds(1))
        let flaky = try #require(config.plugins.last)
        #expect(flaky.name == "flaky" && flaky.post == nil && flaky.onFailure == .abort)
    }

    /// The layouts the database tests' diagnostics count on: line 7 without a freeze, line 10 with
    /// a freeze set and a snapshot command.
    @Test func databasePluginsDecodeAsBuiltAtTheLinesTheTestsName() throws {
        let plain = try decode(
            TestConfig(
                plugins: [
                    .mysql(defaultsFile: "/d/my.cnf", ["mode": "ftwrl"]),
                    .postgres(host: "/d/run", port: "5439", ["mode": "backup", "label_dir": "/d/labels"]),
                ]))
        #expect(!plain.freeze.enabled && plain.snapshot.provider == SnapshotSettings.Provider.none)
        let mysql = try #require(plain.plugins.first)
        #expect(mysql.mark?.line == 7 && mysql.kind == .mysql && mysql.database.defaultsFile == "/d/my.cnf")
        #expect(mysql.database["mode"] == "ftwrl")
        let pg = try #require(plain.plugins.last)
        #expect(pg.kind == .postgres && pg.database.host == "/d/run" && pg.database.port == 5439)
        #expect(pg.database["mode"] == "backup" && pg.database.labelDir == "/d/labels")
        let frozen = try decode(
            TestConfig(
                freeze: .on(timeout: "20s", mounts: ["/m"]), snapshot: .command(["/bin/true"], timeout: "15s"),
                plugins: [.postgres(host: "/d/run", port: "1", ["user": "snaporch_peer", "os_user": "postgres"])]))
        #expect(frozen.plugins.first?.mark?.line == 10)
        #expect(frozen.plugins.first?.database.osUser == "postgres")
    }

    @Test func providersAndLeftOutSectionsDecodeAsBuilt() throws {
        let blob = try decode(TestConfig(freeze: .on(timeout: "5s"), snapshot: .blob(timeout: "4s"), plugins: []))
        #expect(blob.snapshot.provider == .blob && blob.snapshot.timeout == .seconds(4) && blob.freeze.mounts.isEmpty)
        let host = try decode(TestConfig(snapshot: .host(), plugins: [.script("a", pre: "/p")]))
        #expect(host.snapshot.provider == .host && host.snapshot.timeout == SnapshotSettings().timeout)
        let bare = try decode(
            TestConfig(freeze: .absent, snapshot: .absent, plugins: [.mysql(defaultsFile: "/d/my.cnf")]))
        #expect(bare.freeze == FreezeSettings() && bare.snapshot == SnapshotSettings())
    }
}
