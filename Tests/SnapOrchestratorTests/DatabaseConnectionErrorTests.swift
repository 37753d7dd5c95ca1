import Foundation
import Glibc
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// (Part of the serialized database suite.)
/// `validate` shows the client's own connection error — the socket path it tried, the server's
/// authentication message — and the same one on every run (it used to say "Broken pipe" or "the
/// client exited", depending on who won the race to the pipe).
extension DatabasePluginTests {
    /// The error lines of `validate`, over `runs` runs.
    func validateErrors(_ config: String, _ tree: TestTree, runs: Int = 6) async throws -> [String] {
        var out: [String] = []
        for _ in 0..<runs {
            let r = try await RunFixture(tree).validate(config)
            #expect(r.code == 1, "\(r.stderr)")
            out.append(r.stderr.split(separator: "\n").filter { $0.contains(": error: ") }.joined(separator: "\n"))
        }
        return out
    }

    @Test func validateShowsTheClientsOwnConnectionErrorEveryTime() async throws {
        let tree = TestTree("db")
        defer { tree.cleanup() }
        let socket = tree.path("run/no-such.sock")
        let cnf = tree.write(
            "my.cnf", "[client]\nuser=snaporch\npassword=NOT-SHOWN-PW\nsocket=\(socket)\n", mode: 0o600)
        let config = tree.write(
            TestConfig(plugins: [.mysql(defaultsFile: cnf), .postgres(host: tree.path("run"), port: "5439")]))
        let errors = try await validateErrors(config, tree)
        #expect(Set(errors).count == 1, "the message varies between runs: \(Set(errors))")
        let first = errors.first ?? ""
        #expect(
            first.contains(
                "\(config):7:5: error: plugin 'db': the MySQL/MariaDB server of \(cnf): cannot connect: ERROR 2002 (HY000): Can't connect to local server through socket '\(socket)'"
            ), "\(first)")
        #expect(
            first.contains(
                "plugin 'pg': the PostgreSQL server at \(tree.path("run")):5439: cannot connect: psql: error:")
                && first.contains("\(tree.path("run"))/.s.PGSQL.5439"), "\(first)")
        #expect(
            !first.contains("Broken pipe") && !first.contains("the client exited") && !first.contains("NOT-SHOWN-PW"))
    }

    /// The client echoes an option-file line it does not know — a misspelt `password` with its
    /// value — and snaporch quotes the client: the value is masked in `validate`, in the run's
    /// summary and report, and in the report kept in the history.
    @Test func aClientsEchoOfAMisspeltPasswordLineIsMasked() async throws {
        let tree = TestTree("db")
        defer { tree.cleanup() }
        let cnf = tree.write(
            "my.cnf", "[client]\nuser=snaporch\npasword=Hunter2Secret\nsocket=\(tree.path("run/none.sock"))\n",
            mode: 0o600)
        let fixture = RunFixture(tree)
        let config = fixture.write(TestConfig(plugins: [.mysql(defaultsFile: cnf)]))
        let validate = try await fixture.validate(config)
        #expect(validate.code == 1)
        #expect(validate.stderr.contains("unknown variable 'pasword=***'"), "\(validate.stderr)")
        let run = try await fixture.run(config, ["--no-freeze", "--no-snapshot", "--json"])
        let report = try run.report()
        #expect(report.plugins.first?.pre?.error?.contains("unknown variable 'pasword=***'") == true, "\(run.stdout)")
        for text in [validate.stdout, validate.stderr, run.stdout, run.stderr] {
            #expect(!text.contains("Hunter2Secret"), "\(text)")
        }
        let history = try await sh("ls \(tree.path("var/lib/snaporch/history"))")
        #expect(history.output.contains(".json"), "no report in the history: \(history.output)")
        let leaks = try await sh("grep -rl Hunter2Secret \(tree.path("var")) \(tree.path("run")) || true")
        #expect(leaks.output.isEmpty, "kept with the password: \(leaks.output)")
    }

    @Test func validateShowsTheServersAuthenticationMessageEveryTime() async throws {
        let tree = TestTree("db")
        defer { tree.cleanup() }
        try await withDatabase("mariadb", in: tree) { server in
            let cnf = server.wrongPasswordFile(in: tree)
            let config = tree.write(TestConfig(plugins: [.mysql(defaultsFile: cnf)]))
            let errors = try await validateErrors(config, tree)
            #expect(Set(errors).count == 1, "the message varies between runs: \(Set(errors))")
            #expect(
                errors.first?.contains(
                    "cannot connect: ERROR 1045 (28000): Access denied for user 'snaporch'@'localhost' (using password: YES)"
                )
                    == true, "\(errors.first ?? "")")
            #expect(errors.first?.contains("WRONG-SECRET-PW") == false)
        }
    }
}
