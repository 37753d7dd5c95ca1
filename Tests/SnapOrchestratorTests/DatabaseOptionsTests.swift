import Foundation
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// Database plugin options and the frozen set are checked by `validate` (and refused by `run`)
/// through the binary: every bad value gives the exact error at its line and column.
@Suite(.timeLimit(.minutes(2)))
struct DatabaseOptionsTests {
    /// A bad config and the finding `validate` must print for it (`LINE:COL: error: …`).
    struct Case: Sendable, CustomStringConvertible {
        var name: String
        var yaml: String
        var expected: String
        var description: String { name }
    }

    static let head = "version: 1\nfreeze:\n  enabled: false\nsnapshot:\n  provider: none\nplugins:\n  - name: db\n"

    /// A plugin of `type` with `options` (one per line, from line 9), in a config that does not freeze.
    static func plugin(_ type: String, _ options: [String]) -> String {
        head + "    type: \(type)\n" + options.map { "    \($0)\n" }.joined()
    }

    static let mysqlFile = "defaults_file: /etc/azure/prepost/my.cnf"

    /// What every form of a connection string given as `database` gets (the value never repeated).
    static let connectionStringError =
        "9:15: error: 'db.database' must be a database name, found a connection string (not shown: it may hold a password, and psql would show it to every user in ps); give host, port, user and password_file their own keys"

    static let cases: [Case] = [
        Case(
            name: "postgres mode typo", yaml: plugin("postgres", ["mode: bakup"]),
            expected: "9:11: error: 'db.mode': 'bakup' is not one of checkpoint, backup; did you mean 'backup'?"),
        Case(
            name: "mysql mode backupstage", yaml: plugin("mysql", [mysqlFile, "mode: backupstage"]),
            expected:
                "10:11: error: 'db.mode': 'backupstage' is not one of auto, backup-stage, ftwrl; did you mean 'backup-stage'?"
        ),
        Case(
            name: "mysql mode ftwlr", yaml: plugin("mysql", [mysqlFile, "mode: ftwlr"]),
            expected: "10:11: error: 'db.mode': 'ftwlr' is not one of auto, backup-stage, ftwrl; did you mean 'ftwrl'?"),
        Case(
            name: "replica yes", yaml: plugin("mysql", [mysqlFile, "replica: yes"]),
            expected:
                "10:14: error: 'db.replica' must be true or false; 'yes' is a YAML 1.1 boolean we do not guess at: write true"
        ),
        Case(
            name: "lock_wait_timeout ten", yaml: plugin("mysql", [mysqlFile, "lock_wait_timeout: ten"]),
            expected: "10:24: error: 'db.lock_wait_timeout': 'ten' is not a duration (write 30, 30s, 500ms or 2m)"),
        Case(
            name: "lock_wait_timeout below a second", yaml: plugin("mysql", [mysqlFile, "lock_wait_timeout: 500ms"]),
            expected:
                "10:24: error: 'db.lock_wait_timeout' must be whole seconds between 1 and 3600 (the server counts seconds), found 500ms"
        ),
        Case(
            name: "mysql without defaults_file", yaml: plugin("mysql", ["mode: ftwrl"]),
            expected: "7:5: error: mysql plugin 'db' is missing the required key 'defaults_file'"),
        Case(
            name: "relative defaults_file", yaml: plugin("mysql", ["defaults_file: my.cnf"]),
            expected: "9:20: error: 'db.defaults_file' must be an absolute path, found 'my.cnf'"),
        Case(
            name: "relative socket", yaml: plugin("mysql", [mysqlFile, "socket: run/mysqld.sock"]),
            expected: "10:13: error: 'db.socket' must be an absolute path, found 'run/mysqld.sock'"),
        Case(
            name: "backup mode without label_dir", yaml: plugin("postgres", ["mode: backup"]),
            expected:
                "9:11: error: 'db.mode': backup needs 'label_dir', the directory where each run's backup_label is kept (a restore cannot start without it)"
        ),
        Case(
            name: "relative label_dir", yaml: plugin("postgres", ["mode: backup", "label_dir: labels"]),
            expected: "10:16: error: 'db.label_dir' must be an absolute path, found 'labels'"),
        Case(
            name: "database as a connection URI", yaml: plugin("postgres", ["database: postgresql://bk:UriPw1@db/app"]),
            expected: connectionStringError),
        Case(
            name: "database as key=value pairs", yaml: plugin("postgres", ["database: dbname=app password=KvPw2"]),
            expected: connectionStringError),
        Case(
            name: "database as one key=value pair", yaml: plugin("postgres", ["database: password=KvPw3"]),
            expected: connectionStringError),
        Case(
            name: "password_file with os_user",
            yaml: plugin("postgres", ["os_user: postgres", "password_file: /etc/azure/prepost/pgpass"]),
            expected:
                "10:20: error: 'db.password_file' cannot be used with 'db.os_user': psql runs as postgres and cannot read a password file that must be root's and 0600 (libpq would skip it without a word); with os_user, the server's peer authentication needs no password"
        ),
        Case(
            name: "port out of range", yaml: plugin("postgres", ["port: 99999"]),
            expected: "9:11: error: 'db.port' must be between 1 and 65535, found 99999"),
        Case(
            name: "port not a number", yaml: plugin("postgres", ["port: five"]),
            expected: "9:11: error: 'db.port' must be a whole number, found 'five'"),
        Case(
            name: "relative password_file", yaml: plugin("postgres", ["password_file: .pgpass"]),
            expected: "9:20: error: 'db.password_file' must be an absolute path, found '.pgpass'"),
        Case(
            name: "os_user not a user name", yaml: plugin("postgres", ["os_user: \"Post Gres\""]),
            expected: "9:14: error: 'db.os_user' must be a Unix user name (like postgres), found 'Post Gres'"),
        Case(
            name: "host with a space", yaml: plugin("postgres", ["host: \"db host\""]),
            expected:
                "9:11: error: 'db.host' must be a host name or the absolute directory of the server's socket, found 'db host'"
        ),
        Case(
            name: "empty user", yaml: plugin("postgres", ["user: \"\""]),
            expected: "9:11: error: 'db.user' must be a name without spaces, found ''"),
        Case(
            name: "option of the other type", yaml: plugin("mysql", [mysqlFile, "label_dir: /var/lib/labels"]),
            expected: "10:16: error: 'label_dir' does not apply to a plugin of type mysql"),
        Case(
            name: "relative frozen mount",
            yaml: "version: 1\nfreeze:\n  mounts:\n    - /\n    - data\nsnapshot:\n  provider: none\n",
            expected: "5:7: error: 'freeze.mounts' entries must be absolute paths, found 'data'"),
        Case(
            name: "frozen mount that is no mount point",
            yaml: "version: 1\nfreeze:\n  mounts:\n    - /nonexistent-snaporch-mount\nsnapshot:\n  provider: none\n",
            expected: "4:7: error: freeze.mounts: /nonexistent-snaporch-mount is not a mount point"),
    ]

    @Test(arguments: cases)
    func validateGivesTheExactErrorWithItsPosition(_ c: Case) async throws {
        let tree = TestTree("opt")
        defer { tree.cleanup() }
        let file = tree.write("c.yaml", c.yaml)
        let r = try await runCLI(["validate", "--config", file], env: tree.environment)
        #expect(r.code == 1, "\(r.stdout)\(r.stderr)")
        #expect(r.stderr.contains("\(file):\(c.expected)\n"), "\(r.stderr)")
    }

    @Test(arguments: ["mode: bakup", "mode: backup"])
    func runRefusesABadPostgresModeBeforeAnythingStarts(_ option: String) async throws {
        let tree = TestTree("opt")
        defer { tree.cleanup() }
        let file = tree.write("c.yaml", Self.plugin("postgres", [option]))
        let r = try await runCLI(["run", "--config", file], env: tree.environment)
        #expect(r.code == 2, "\(r.stdout)\(r.stderr)")
        #expect(r.stderr.contains("\(file):9:11: error: 'db.mode'"), "\(r.stderr)")
    }

    @Test func goodOptionsDecodeIntoTypedValues() throws {
        let mysql = try DatabaseOptions.decoded(
            .mysql,
            ["defaults_file": "/etc/my.cnf", "mode": "backup-stage", "lock_wait_timeout": "20s", "replica": "true"])
        #expect(
            mysql.effectiveLockMode == .backupStage && mysql.effectiveLockWaitTimeout == 20 && mysql.replica == true)
        let pg = try DatabaseOptions.decoded(
            .postgres, ["mode": "backup", "label_dir": "/var/lib/labels", "port": "5433", "os_user": "postgres"])
        #expect(pg.effectivePostgresMode == .backup && pg.port == 5433 && pg.labelDir == "/var/lib/labels")
        #expect(pg["port"] == "5433" && pg["mode"] == "backup")
    }
}
