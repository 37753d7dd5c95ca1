import Foundation
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// One machine for the platform hook tests: a loop mount holding a MariaDB datadir, a config with
/// a script plugin before and after the database (each logs `phase:name:frozen|thawed`), and the
/// platform's wrapper installed by `snaporch hook install` into the tree.
struct HookMachine: Sendable {
    let tree: TestTree
    let mount: LoopMount
    let maria: DatabaseServer
    let config: String
    let fixture: RunFixture

    /// The order log, one `phase:name:state` a line.
    var log: String { tree.path("order.log") }

    var lines: [String] { (tree.read("order.log") ?? "").split(separator: "\n").map(String.init) }

    /// What the posts were told, one `name:SNAPORCH_OUTCOME` a line.
    var outcomes: [String] { (tree.read("outcome.log") ?? "").split(separator: "\n").map(String.init) }

    /// A plugin script logging its phase and whether `mount` is frozen (a create that does not
    /// finish in 0.3 s).
    static func logger(_ tree: TestTree, _ name: String, mount: String, extra: String = "") -> String {
        tree.script(
            "s/\(name).sh",
            """
            # A create on a frozen filesystem blocks uninterruptibly until the thaw (a `timeout`
            # would wait for it too): create in the background, in a session of its own.
            probe=\(mount)/.probe-$$-$SNAPORCH_PHASE
            setsid touch "$probe" </dev/null >/dev/null 2>&1 &
            sleep 0.3
            state=thawed
            [ -e "$probe" ] || state=frozen
            echo "$SNAPORCH_PHASE:\(name):$state" >> \(tree.path("order.log"))
            if [ "$SNAPORCH_PHASE" = post ]; then echo "\(name):$SNAPORCH_OUTCOME" >> \(tree.path("outcome.log")); fi
            \(extra)
            """)
    }

    /// Runs `body` on a fresh machine; `freezing` lets snaporch freeze the loop mount (Google, AWS);
    /// `lease` is `split.lease`; `middle` is an extra plugin after the database (say, a failing one).
    static func with(
        freezing: Bool, lease: String = "60s", middle: TestPlugin? = nil, _ body: (HookMachine) async throws -> Void
    ) async throws {
        try await withFreezeFixture { fx in
            let m = try await fx.loop(sizeMB: 384)
            try await withDatabase("mariadb", at: m.mountPoint + "/mariadb") { maria in
                let a = logger(fx.tree, "a", mount: m.mountPoint)
                let b = logger(fx.tree, "b", mount: m.mountPoint)
                var plugins: [TestPlugin] = [
                    .script("a", pre: a, post: a), .mysql("db", on: maria), .script("b", pre: b, post: b),
                ]
                if let middle { plugins.insert(middle, at: 2) }
                let config = fx.tree.write(
                    TestConfig(
                        freeze: freezing ? .on(timeout: "20s", mounts: [m.mountPoint]) : .off,
                        options: ["split": "{lease: \(lease)}"], plugins: plugins))
                let fixture = RunFixture(fx.tree, freezing: freezing ? [m] : [])
                try await body(HookMachine(tree: fx.tree, mount: m, maria: maria, config: config, fixture: fixture))
                // Never leave a holder behind (it would keep the database locked until its lease).
                _ = try? await fixture.end()
            }
        }
    }

    /// Installs `platform`'s wrapper into the tree (`hook install --root`); the installed paths.
    func install(_ platform: String) async throws -> [String] {
        let r = try await runCLI(["hook", "install", platform, "--root", tree.root, "--config", config])
        guard r.code == 0 else { throw TestFailure("hook install \(platform): \(r.stderr)") }
        return r.stdout.split(separator: "\n").map { String($0.dropFirst("installed ".count)) }
    }

    /// Runs an installed wrapper with `arguments` the way an agent does (its environment: the tree's).
    func invoke(_ wrapper: String, _ arguments: [String], timeout: Int = 120) async throws -> (
        code: Int32, output: String
    ) {
        let env = fixture.environment.map { "\($0.key)=\(ShellQuote.quote($0.value))" }.joined(separator: " ")
        let argv = ([wrapper] + arguments).map(ShellQuote.quote).joined(separator: " ")
        // An agent's working directory: empty and unrelated to the config (no relative path may work).
        let cwd = tree.path("agent-cwd")
        try FileManager.default.createDirectory(atPath: cwd, withIntermediateDirectories: true)
        return try await sh("cd \(ShellQuote.quote(cwd)) && env -i \(env) \(argv) </dev/null", timeout: timeout)
    }

    /// True when an INSERT with a 3 s lock wait succeeds now (the database lock is not held).
    func canWrite(_ value: String) async throws -> Bool {
        let r = try await maria.mariadb(
            "SET SESSION lock_wait_timeout = 3; SET SESSION innodb_lock_wait_timeout = 3; "
                + "INSERT INTO snaporch_test.t (v) VALUES ('\(value)');", defaults: maria["APP_DEFAULTS_FILE"])
        return r.code == 0
    }

    /// How many sessions the plugin user (`snaporch`) has open on the server.
    func pluginSessions() async throws -> Int {
        let r = try await maria.mariadb(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = 'snaporch';")
        return Int(r.output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    /// True when a write to the loop mount does not complete within 0.5 s (it is frozen); the
    /// blocked write finishes after the thaw.
    var mountIsFrozen: Bool { get async { !(await writeCompletes(in: mount.mountPoint, within: 0.5)) } }

    /// The reports of the history (`var/lib/snaporch/history`).
    var history: [RunReport] { RunHistory(paths: Paths(root: tree.root)).load() }
}
