import Foundation
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// Private MariaDB and PostgreSQL servers started by `Tests/Support/db/*-start.sh` in a test tree,
/// on a free loopback port; always stopped afterwards.
struct DatabaseServer: Sendable {
    static let scripts = BlobEmulator.supportDir + "/db"
    let kind: String
    let directory: String
    let values: [String: String]

    subscript(_ key: String) -> String { values[key] ?? "" }

    static func freePort() async throws -> Int {
        let r = try await sh(
            "python3 -c 'import socket; s=socket.socket(); s.bind((\"127.0.0.1\", 0)); print(s.getsockname()[1])'")
        guard let port = Int(r.output.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw TestFailure("no free port")
        }
        return port
    }

    /// Starts a server; `extraArgs` go to MariaDB's server options (`MARIADB_EXTRA_ARGS`), `serverId`
    /// is its replication server id (`MARIADB_SERVER_ID`: distinct for a primary and its replica).
    static func start(_ kind: String, in directory: String, extraArgs: String = "", serverId: Int = 1) async throws
        -> DatabaseServer
    {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let port = try await freePort()
        let extra =
            (extraArgs.isEmpty ? "" : "MARIADB_EXTRA_ARGS=\(ShellQuote.quote(extraArgs)) ")
            + "MARIADB_SERVER_ID=\(serverId) "
        let r = try await sh(
            "\(extra)\(scripts)/\(kind)-start.sh \(directory) \(port) 2>\(directory)/../\(kind)-start.err", timeout: 300
        )
        guard r.code == 0 else {
            let err = (try? String(contentsOfFile: "\(directory)/../\(kind)-start.err", encoding: .utf8)) ?? ""
            throw TestFailure("\(kind)-start.sh failed: \(r.output)\n\(err.suffix(2000))")
        }
        var values: [String: String] = [:]
        for line in r.output.split(separator: "\n") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            values[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        return DatabaseServer(kind: kind, directory: directory, values: values)
    }

    func stop() async { _ = try? await sh("\(Self.scripts)/\(kind)-stop.sh \(directory)", timeout: 120) }

    /// A root 0600 `[client]` file in `tree` for the plugin user with a wrong password (the
    /// password `WRONG-SECRET-PW`, which no message may show).
    func wrongPasswordFile(in tree: TestTree) -> String {
        tree.write(
            "bad.cnf", "[client]\nuser=snaporch\npassword=WRONG-SECRET-PW\nsocket=\(self["SOCKET"])\n", mode: 0o600)
    }

    /// Runs SQL with the MariaDB client and a defaults file; returns exit code and output.
    func mariadb(_ sql: String, defaults: String? = nil) async throws -> (code: Int32, output: String) {
        let file = defaults ?? self["ADMIN_DEFAULTS_FILE"]
        return try await sh(
            "mariadb --defaults-extra-file=\(file) --batch --skip-column-names -e \(ShellQuote.quote(sql))", timeout: 30
        )
    }

    /// Runs SQL as the PostgreSQL superuser (peer authentication over the private socket).
    func psql(_ sql: String, database: String = "snaporch_test") async throws -> (code: Int32, output: String) {
        try await sh(
            "runuser -u postgres -- psql -X -q -A -t -h \(self["SOCKET_DIR"]) -p \(self["PORT"]) -U postgres -d \(database) -c \(ShellQuote.quote(sql))",
            timeout: 30)
    }
}

/// Runs `body` with a started server and always stops it.
func withDatabase(_ kind: String, in tree: TestTree, _ body: (DatabaseServer) async throws -> Void) async throws {
    try await withDatabase(kind, at: tree.path(kind), body)
}

/// Runs `body` with a server whose files live in `directory` (a loop mount the test freezes, say),
/// started with `extraArgs` (MariaDB server options), and always stops it.
func withDatabase(
    _ kind: String, at directory: String, extraArgs: String = "", serverId: Int = 1,
    _ body: (DatabaseServer) async throws -> Void
) async throws {
    let server = try await DatabaseServer.start(kind, in: directory, extraArgs: extraArgs, serverId: serverId)
    do {
        try await body(server)
    } catch {
        await server.stop()
        throw error
    }
    await server.stop()
}

extension DatabaseOptions {
    /// Options decoded by the real config decoder from `key: value` pairs (test set-up).
    static func decoded(_ kind: PluginSpec.Kind, _ values: [String: String]) throws -> DatabaseOptions {
        let lines = values.sorted { $0.key < $1.key }.map { "    \($0.key): \"\($0.value)\"\n" }.joined()
        let yaml = "version: 1\nplugins:\n  - name: db\n    type: \(kind.rawValue)\n" + lines
        let (config, diagnostics) = ConfigDecoder(file: "test.yaml").decode(Array(yaml.utf8))
        guard let config else { throw TestFailure("options do not decode: \(diagnostics.map(\.rendered))") }
        return config.plugins[0].database
    }
}

extension TestPlugin {
    /// The MySQL plugin on `server` as its plugin user (`snaporch`, the server's defaults file).
    static func mysql(
        _ name: String = "db", on server: DatabaseServer, _ options: KeyValuePairs<String, String> = [:]
    ) -> TestPlugin {
        .mysql(name, defaultsFile: server["DEFAULTS_FILE"], options)
    }

    /// The PostgreSQL plugin in backup mode on `server`'s socket, as the password user `snaporch`,
    /// storing backup labels in `labelDir`.
    static func postgresBackup(_ name: String = "pg", on server: DatabaseServer, labelDir: String) -> TestPlugin {
        .postgres(
            name, host: server["SOCKET_DIR"], port: server["PORT"],
            ["mode": "backup", "user": "snaporch", "password_file": server["PGPASSFILE"], "label_dir": labelDir])
    }

    /// The PostgreSQL plugin on `server`'s socket as `snaporch_peer` by peer authentication (OS
    /// user `postgres`): checkpoint mode unless `options` say otherwise.
    static func postgresPeer(
        _ name: String = "pg", on server: DatabaseServer, _ options: KeyValuePairs<String, String> = [:]
    ) -> TestPlugin {
        var plugin = TestPlugin.postgres(
            name, host: server["SOCKET_DIR"], port: server["PORT"], ["user": "snaporch_peer", "os_user": "postgres"])
        plugin.keys += options.map { ($0.key, $0.value) }
        return plugin
    }
}
