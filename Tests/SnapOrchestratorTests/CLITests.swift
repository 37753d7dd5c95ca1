import Foundation
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// The built `snaporch` binary, run as a subprocess the way an admin runs it.
@Suite(.timeLimit(.minutes(2)))
struct CLITests {
    @Test func versionAndHelp() async throws {
        let v = try await runCLI(["version"])
        #expect(v.code == 0 && v.stdout == "snaporch \(Version.current)\n")
        let h = try await runCLI(["help", "run"])
        #expect(h.code == 0 && h.stdout.contains("--dry-run"))
        for command in ["validate", "run", "thaw", "recover", "report", "history", "handler", "version"] {
            let r = try await runCLI([command, "--help"])
            #expect(r.code == 0 && r.stdout.contains("Usage: snaporch \(command)"), "\(command)")
        }
    }

    @Test(arguments: [
        ["frobnicate"], ["validate", "--bogus"], ["run", "--mount"], ["version", "extra"], [], ["help", "nope"],
    ])
    func usageErrorsExitTwo(_ args: [String]) async throws {
        let r = try await runCLI(args)
        #expect(r.code == 2)
        #expect(r.stderr.contains("Usage: snaporch"))
        #expect(r.stdout.isEmpty)
    }

    /// An option that takes one value, given twice, is an error: which of the two counts would be
    /// a guess (`--config a.yaml --config b.yaml` used to run with b.yaml without a word).
    @Test func anOptionOfOneValueGivenTwiceIsAUsageError() async throws {
        let tree = TestTree("cli")
        defer { tree.cleanup() }
        let a = tree.write("a.yaml", "version: 1\nfreeze:\n  enabled: false\nsnapshot:\n  provider: none\n")
        let b = tree.write("b.yaml", "version: 1\nfreeze:\n  enabled: false\nsnapshot:\n  provider: none\n")
        let r = try await runCLI(["validate", "--config", a, "--config=\(b)"])
        #expect(r.code == 2 && r.stderr.contains("--config given more than once; it takes one value"), "\(r.stderr)")
        let mounts = try await runCLI(
            ["run", "--dry-run", "--config", a, "--mount", tree.path("x"), "--mount", tree.path("y")],
            env: tree.environment)
        #expect(!mounts.stderr.contains("given more than once"), "--mount is repeatable: \(mounts.stderr)")
    }

    /// `--settings` takes the protected settings in clear; the guest agent's own file holds them
    /// encrypted, and its disks used to be dropped without a word (the run went on without them).
    @Test func encryptedProtectedSettingsAreAnErrorNamingTheKey() async throws {
        let tree = TestTree("cli")
        defer { tree.cleanup() }
        let config = tree.write("c.yaml", "version: 1\nfreeze:\n  enabled: false\nsnapshot:\n  provider: none\n")
        let handler: [String: Any] = [
            "publicSettings": HandlerFixture.publicSettings(taskId: "t1", statusBlob: nil),
            "protectedSettingsCertThumbprint": "ABCDEF0123", "protectedSettings": "MIIBsQYJKoZIhvcNAQcDoIIBojCC",
        ]
        let json = try JSONSerialization.data(withJSONObject: ["runtimeSettings": [["handlerSettings": handler]]])
        let settings = tree.write("0.settings", String(decoding: json, as: UTF8.self), mode: 0o600)
        let r = try await runCLI(
            ["run", "--dry-run", "--config", config, "--settings", settings], env: tree.environment)
        #expect(r.code == 2, "\(r.stdout)\(r.stderr)")
        #expect(r.stderr.contains("--settings \(settings): protectedSettings is encrypted"), "\(r.stderr)")
    }

    @Test func unknownOptionSuggestsTheRightOne() async throws {
        let r = try await runCLI(["run", "--dry-rum"])
        #expect(r.code == 2 && r.stderr.contains("did you mean '--dry-run'?"))
    }

    @Test func validateReportsPositionsAndExitCodes() async throws {
        let tree = TestTree("cli")
        defer { tree.cleanup() }
        let good = tree.write("good.yaml", "version: 1\nfreeze:\n  enabled: false\nsnapshot:\n  provider: none\n")
        let r1 = try await runCLI(["validate", "--config", good])
        #expect(r1.code == 0, "\(r1.stderr)")
        #expect(r1.stdout.contains("valid"))
        let bad = tree.write("bad.yaml", "version: 1\nfreeze:\n  enabeld: true\n  timeout: 3 weeks\n")
        let r2 = try await runCLI(["validate", "--config", bad])
        #expect(r2.code == 1)
        #expect(r2.stderr.contains("\(bad):3:3: error: unknown key 'enabeld' in 'freeze'; did you mean 'enabled'?"))
        #expect(r2.stderr.contains("\(bad):4:12: error: 'freeze.timeout': '3 weeks' is not a duration"))
    }

    @Test func validateJSONCarriesTheSameFindings() async throws {
        let tree = TestTree("cli")
        defer { tree.cleanup() }
        let bad = tree.write("bad.yaml", "version: 1\nplugins:\n  - name: x\n    pre: /does/not/exist.sh\n")
        let r = try await runCLI(["validate", "--json", "--config", bad])
        #expect(r.code == 1)
        let report = try JSONDecoder().decode(ValidationReport.self, from: Data(r.stdout.utf8))
        #expect(report.valid == false)
        #expect(
            report.diagnostics.contains { $0.line == 3 && $0.message.contains("/does/not/exist.sh does not exist") })
    }

    @Test func defaultConfigIsResolvedUnderSnaporchRoot() async throws {
        let tree = TestTree("cli")
        defer { tree.cleanup() }
        let r = try await runCLI(["validate"], env: tree.environment)
        #expect(r.code == 1)
        #expect(r.stderr.contains("\(tree.root)/etc/azure/prepost/prepost.yaml: error: no such file"))
    }

    @Test func bundledSampleConfigAndExamplesValidateWhenInstalled() async throws {
        let tree = TestTree("cli")
        defer { tree.cleanup() }
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let r0 = try await sh(
            "mkdir -p \(tree.root)/etc/azure && cp -a \(repo)/etc/azure/prepost \(tree.root)/etc/azure/ && chown -R 0:0 \(tree.root)/etc"
        )
        #expect(r0.code == 0)
        let r = try await runCLI(["validate"], env: tree.environment)
        #expect(r.code == 0, "\(r.stderr)")
        #expect(r.stdout.contains("plugins: app, 10-journal-flush"))
        // The example config of Plugins-examples, with its scripts installed where it expects them.
        let r1 = try await sh(
            """
            cd \(repo)/Plugins-examples && cp app/*.sh \(tree.root)/etc/azure/prepost/ && \
            cp drop-ins/* \(tree.root)/etc/azure/prepost/scripts.d/ && cp prepost-app.yaml \(tree.root)/etc/azure/prepost/prepost.yaml && \
            chown -R 0:0 \(tree.root)/etc
            """)
        #expect(r1.code == 0)
        let r2 = try await runCLI(["validate"], env: tree.environment)
        #expect(r2.code == 0, "\(r2.stderr)")
        let dry = try await runCLI(["run", "--dry-run"], env: tree.environment)
        #expect(dry.code == 0)
        #expect(dry.stdout.contains("pre  nginx:") && dry.stdout.contains("post nginx:"))
        #expect(dry.stdout.contains("(drop-in)"))
    }

    @Test func leftoverDropInsAreSkippedWithTheReason() async throws {
        let tree = TestTree("cli")
        defer { tree.cleanup() }
        tree.script("etc/azure/prepost/scripts.d/10-ok", "exit 0")
        tree.script("etc/azure/prepost/scripts.d/10-ok.dpkg-old", "exit 0")
        tree.script("etc/azure/prepost/scripts.d/20-x.rpmnew", "exit 0")
        tree.script("etc/azure/prepost/scripts.d/30-y~", "exit 0")
        tree.write("etc/azure/prepost/scripts.d/40-noexec", "#!/bin/sh\n", mode: 0o644)
        tree.write("etc/azure/prepost/prepost.yaml", "version: 1\nscripts_dir: /etc/azure/prepost/scripts.d\n")
        let r = try await runCLI(["validate"], env: tree.environment)
        #expect(r.code == 0, "\(r.stderr)")
        #expect(r.stderr.contains("10-ok.dpkg-old: note: drop-in skipped: package-manager or editor leftover"))
        #expect(r.stderr.contains("20-x.rpmnew: note: drop-in skipped"))
        #expect(r.stderr.contains("30-y~: note: drop-in skipped"))
        #expect(r.stderr.contains("40-noexec: note: drop-in skipped: not executable"))
        #expect(r.stdout.contains("plugins: 10-ok;"))
    }

    @Test func scriptChecksFindMissingInterpreterAndNoShebang() async throws {
        let tree = TestTree("cli")
        defer { tree.cleanup() }
        tree.write("etc/azure/prepost/a.sh", "#!/no/such/interp\nexit 0\n", mode: 0o755)
        tree.write("etc/azure/prepost/b.sh", "echo hi\n", mode: 0o755)
        tree.write("etc/azure/prepost/c.sh", "#!/bin/sh\n", mode: 0o644)
        tree.write(
            "etc/azure/prepost/prepost.yaml",
            """
            version: 1
            plugins:
              - name: a
                pre: /etc/azure/prepost/a.sh
              - name: b
                pre: /etc/azure/prepost/b.sh
              - name: c
                pre: /etc/azure/prepost/c.sh
            """)
        let r = try await runCLI(["validate"], env: tree.environment)
        #expect(r.code == 1)
        #expect(r.stderr.contains("interpreter /no/such/interp (from its '#!' line) does not exist"))
        #expect(r.stderr.contains("b.sh has no '#!' line and is not an ELF binary"))
        #expect(r.stderr.contains("c.sh is not executable"))
    }

    @Test func listedMountsMustExist() async throws {
        let tree = TestTree("cli")
        defer { tree.cleanup() }
        let c = tree.write("c.yaml", "version: 1\nfreeze:\n  mounts: [/no/such/mount]\n")
        let r = try await runCLI(["validate", "--config", c])
        #expect(r.code == 1 && r.stderr.contains("error: freeze.mounts: /no/such/mount is not a mount point"))
    }
}
