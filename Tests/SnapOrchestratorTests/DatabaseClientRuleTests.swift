import Foundation
import Testing

@testable import SnapCore
@testable import SnapSystem

/// `validate` and `run` find the database clients by the same rule (fixed system directories,
/// never the caller's PATH), so what validate reports is what run will execute.
@Suite(.timeLimit(.minutes(2)))
struct DatabaseClientRuleTests {
    static let config =
        "version: 1\nfreeze:\n  enabled: false\nsnapshot:\n  provider: none\nplugins:\n  - name: db\n    type: postgres\n    host: /nonexistent-snaporch-socket-dir\n"

    @Test func validateFindsTheClientsWhateverThePathSays() async throws {
        let tree = TestTree("dbclient")
        defer { tree.cleanup() }
        let file = tree.write("c.yaml", Self.config)
        let emptyBin = tree.path("empty-bin")
        try FileManager.default.createDirectory(atPath: emptyBin, withIntermediateDirectories: true)
        var bare = tree.environment
        bare["PATH"] = emptyBin
        let usual = try await runCLI(["validate", "--config", file], env: tree.environment)
        let withoutPath = try await runCLI(["validate", "--config", file], env: bare)
        #expect(!withoutPath.stderr.contains("PATH"), "\(withoutPath.stderr)")
        #expect(withoutPath.code == usual.code && withoutPath.stderr == usual.stderr, "\(withoutPath.stderr)")
        #expect(withoutPath.stdout == usual.stdout)
    }

    @Test func aMissingClientIsNamedWithWhereItWasLookedFor() {
        guard case .failure(let error) = SystemProgram.locate(["snaporch-no-such-client"]) else {
            Issue.record("a program that does not exist was found")
            return
        }
        #expect(
            error.description
                == "snaporch-no-such-client is not installed in /usr/local/bin, /usr/bin, /bin, /usr/local/sbin or /usr/sbin"
        )
        guard case .failure(let both) = SystemProgram.locate(["no-such-a", "no-such-b"]) else { return }
        #expect(both.description.hasPrefix("neither no-such-a nor no-such-b is installed in /usr/local/bin"))
    }

    @Test func theClientFoundIsTheOneRunUses() throws {
        let found = try SystemProgram.locate(DatabaseStep.clientNames(.postgres)).get()
        #expect(SystemProgram.directories.contains { found == "\($0)/psql" }, "\(found)")
    }
}
