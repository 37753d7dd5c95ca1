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
