import Foundation
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

@Suite struct ConfigDecoderTests {
    func decode(_ text: String) -> (Config?, [Diagnostic]) {
        let r = ConfigDecoder(file: "p.yaml").decode(Array(text.utf8))
        return (r.config, r.diagnostics)
    }

    @Test func fullConfigDecodes() throws {
        let (config, diagnostics) = decode(
            """
            version: 1
            freeze:
              enabled: true
              timeout: 45s
              mounts: [/data, /logs]
              exclude: ["/mnt/*"]
            snapshot:
              provider: command
              command: [/sbin/lvcreate, -s, vg/data]
              timeout: 1500ms
            pre_timeout: 2m
            kill_grace: 2
            plugins:
              - name: app
                pre: /opt/app/pre.sh
                post: /opt/app/post.sh
                args: [--fast]
                timeout: 10s
                retries: 2
                on_failure: abort
              - name: db
                type: mysql
                defaults_file: /etc/azure/prepost/my.cnf
            scripts_dir: /etc/azure/prepost/scripts.d
            """)
        #expect(diagnostics.isEmpty, "\(diagnostics.map(\.rendered))")
        let c = try #require(config)
        #expect(c.freeze.timeout == .seconds(45))
        #expect(c.freeze.mounts == ["/data", "/logs"])
        #expect(c.snapshot.provider == .command)
        #expect(c.snapshot.timeout.milliseconds == 1500)
        #expect(c.preTimeout == .seconds(120))
        #expect(c.killGrace == .seconds(2))
        #expect(c.plugins.map(\.name) == ["app", "db"])
        #expect(c.plugins[0].retries == 2 && c.plugins[0].onFailure == .abort && c.plugins[0].args == ["--fast"])
        #expect(c.plugins[1].kind == .mysql && c.plugins[1].database["defaults_file"] == "/etc/azure/prepost/my.cnf")
    }

    /// Each bad config with the exact position and a distinctive part of the message.
    @Test(arguments: [
        ("version: 1\nfreze:\n  enabled: true\n", "2:1", "did you mean 'freeze'"),
        ("version: 1\nfreeze:\n  timeout: 30x\n", "3:12", "'30x' is not a duration"),
        ("version: 1\nfreeze:\n  enabled: yes\n", "3:12", "YAML 1.1 boolean"),
        ("version: 1\nfreeze:\n  enabled: off\n", "3:12", "write false"),
        ("version: 1\nsnapshot:\n  provider: blobb\n", "3:13", "did you mean 'blob'"),
        (
            "version: 1\nplugins:\n  - name: a\n    pre: /a\n  - name: a\n    pre: /b\n", "5:5",
            "duplicate plugin name 'a'"
        ),
        ("version: 1\nplugins:\n  - pre: /a\n", "3:5", "missing the required key 'name'"),
        ("freeze: {}\n", "1:1", "missing required key 'version'"),
        ("version: 1\nplugins:\n  - name: a\n    pre: rel/a.sh\n", "4:10", "absolute path"),
        ("version: 1\nplugins:\n  - name: a\n    pre: /a\n    retries: many\n", "5:14", "whole number"),
        ("version: 1\nplugins:\n  - name: a\n    pre: /a\n    timout: 3s\n", "5:5", "did you mean 'timeout'"),
        (
            "version: 1\nplugins:\n  - name: a\n    pre: /a\n    on_failure: stop\n", "5:17",
            "not one of continue, abort"
        ),
        ("version: 1\nplugins:\n  - name: a\n", "3:5", "needs 'pre', 'post' or both"),
        ("version: 1\nplugins:\n  - name: d\n    type: mysql\n", "3:5", "required key 'defaults_file'"),
        (
            "version: 1\nplugins:\n  - name: d\n    type: postgres\n    socket: /x\n", "5:13",
            "does not apply to a plugin of type postgres"
        ),
        ("version: 2\n", "1:10", "unsupported config version 2"),
        ("version: 1\nfreeze: [a]\n", "2:9", "'freeze' must be a mapping"),
        ("version: 1\nfreeze:\n  mounts: /data\n", "3:11", "list of strings"),
        ("version: 1\nsnapshot:\n  provider: command\n", "3:13", "needs 'snapshot.command'"),
        ("version: 1\nkill_grace: 5m\n", "2:13", "at most 1m"),
        ("version: 1\nplugins:\n  - name: a\n    pre: /a\n    timeout: 0\n", "5:14", "'a.timeout' must be more than 0"),
        ("version: 1\npre_timeout: 0s\n", "2:14", "'pre_timeout' must be more than 0, found 0s"),
        ("version: 1\npost_timeout: 0ms\n", "2:15", "'post_timeout' must be more than 0"),
        ("version: 1\nsnapshot:\n  timeout: 0\n", "3:12", "'snapshot.timeout' must be more than 0"),
        ("version: 1\nfreeze:\n  sync_timeout: 500ms\n", "3:17", "'freeze.sync_timeout' must be at least 1s"),
        ("- a\n- b\n", "1:1", "must be a mapping, found a list"),
    ])
    func badConfigIsReportedAtItsPosition(_ text: String, _ position: String, _ message: String) {
        let (config, diagnostics) = decode(text)
        #expect(config == nil)
        let errors = diagnostics.filter { $0.severity == .error }
        let match = errors.first { "\($0.line ?? 0):\($0.column ?? 0)" == position && $0.message.contains(message) }
        #expect(match != nil, "wanted \(position) '\(message)', got \(errors.map(\.rendered))")
        #expect(errors.first?.rendered.hasPrefix("p.yaml:") == true)
    }

    @Test func everyErrorInAFileIsReported() {
        let (_, diagnostics) = decode(
            """
            version: 1
            freeze:
              timeout: soon
              enabled: maybe
            plugins:
              - name: a
                pre: /a
                retries: -1
              - nam: b
            """)
        #expect(diagnostics.filter { $0.severity == .error }.count >= 4)
    }

    @Test(arguments: [
        ("500ms", 500), ("30s", 30_000), ("2m", 120_000), ("30", 30_000), ("1.5s", 1500), ("1h", 3_600_000),
    ])
    func durations(_ text: String, _ ms: Int) {
        #expect(TimeSpan(parsing: text)?.milliseconds == ms)
    }

    @Test(arguments: ["", "s", "-1s", "1d", "1.2.3s", "ten", "1e3"])
    func badDurations(_ text: String) {
        #expect(TimeSpan(parsing: text) == nil)
    }

    @Test func warnsWhenSnapshotTimeoutExceedsFreezeTimeout() {
        let (config, diagnostics) = decode("version: 1\nfreeze:\n  timeout: 10s\nsnapshot:\n  timeout: 20s\n")
        #expect(config != nil)
        #expect(diagnostics.contains { $0.severity == .warning && $0.message.contains("cut at the freeze deadline") })
    }

    @Test func sasSecretsNeverReachMessages() {
        let (_, diagnostics) = decode("version: 1\nsnapshot:\n  disks: [\"ftp://acct/c/d.vhd?sv=1&sig=SECRETSIG\"]\n")
        #expect(!diagnostics.isEmpty)
        #expect(!diagnostics.map(\.rendered).joined().contains("SECRETSIG"))
    }

    @Test func everyExampleConfigDecodes() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let paths = [
            "etc/azure/prepost/prepost.yaml", "Plugins-examples/prepost-app.yaml",
            "Plugins-examples/mysql/prepost-mysql.yaml", "Plugins-examples/postgres/prepost-postgres.yaml",
        ]
        for path in paths {
            let bytes = try #require(FileManager.default.contents(atPath: repo.appendingPathComponent(path).path))
            let (config, diagnostics) = ConfigDecoder(file: path).decode(Array(bytes))
            #expect(config != nil && !diagnostics.hasErrors, "\(path): \(diagnostics.map(\.rendered))")
        }
    }
}
