import Foundation
import Glibc
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// The real QEMU guest agent (Debian's `qemu-guest-agent`) on a private unix socket, with its
/// freeze hook, state directory, pid file and log in the test tree, in a mount namespace of its
/// own whose only loop mount is the test's, and a QMP client.
///
/// Safety contract: qemu-ga is always started with `-b guest-fsfreeze-freeze,guest-shutdown`, so
/// the only freeze it can do is `guest-fsfreeze-freeze-list` of the mounts the test names (its
/// own loop mount), and its thaw cannot reach another test's frozen loop mount. `stop()` sends `guest-fsfreeze-thaw`, then ends the agent (SIGTERM: it thaws
/// on shutdown; SIGKILL after 3 s); the loop mount's cleanup runs `fsfreeze -u` after that.
final class QemuGuestAgent: @unchecked Sendable {
    static let binary = "/usr/sbin/qemu-ga"
    static var installed: Bool { FileManager.default.isExecutableFile(atPath: binary) }
    /// Whether the qemu-ga tests run: qemu-ga installed, or CI (where a missing one fails them).
    static var available: Bool { installed || TestEnv.isCI }
    static let reason: Comment = "needs qemu-guest-agent (scripts/setup installs it; CI=true fails without it)"

    let process = Process()
    let socket: String
    private var fd: Int32 = -1
    private var buffer: [UInt8] = []
    private var nextId = Int.random(in: 1000...9_000_000)

    /// Detaches, in qemu-ga's own mount namespace, every loop mount but `$1`, then runs qemu-ga:
    /// `guest-fsfreeze-thaw` FITHAWs every mount of its table, and would thaw the loop mounts that
    /// other tests (of this run, or of other checkouts on the machine) have frozen on purpose.
    static let privateTable = """
        keep=$1; shift
        awk -v keep="$keep" '{ for (i = 7; i <= NF; i++) if ($i == "-") src = $(i + 2);
            if (src ~ /^\\/dev\\/loop/ && $5 != keep) print $5 }' /proc/self/mountinfo | sort -r |
        while read -r m; do umount -l "$m" 2>/dev/null; done
        exec \(binary) "$@"
        """

    /// Starts qemu-ga in `tree` with `hook` as its fsfreeze hook and `environment` (the hook's), in
    /// a private mount namespace whose only loop mount is `mount`.
    init(in tree: TestTree, hook: String, environment: [String: String], mount: String) throws {
        guard Self.installed else { throw TestFailure("\(Self.binary) is missing: scripts/setup installs it") }
        socket = tree.path("qga.sock")
        let state = tree.path("qga-state")
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        process.arguments = [
            "--mount", "--propagation", "private", "/bin/sh", "-c", Self.privateTable, "qemu-ga", mount,
            "-m", "unix-listen", "-p", socket, "-F\(hook)", "-t", state, "-f", tree.path("qga.pid"),
            "-l", tree.path("qga.log"), "-b", "guest-fsfreeze-freeze,guest-shutdown",
        ]
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    /// Connects (waiting up to 10 s for the socket) and synchronises with `guest-sync-delimited`.
    func connect() throws {
        let deadline = Date().addingTimeInterval(10)
        while fd < 0 {
            let s = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard s >= 0 else { throw TestFailure("socket: errno \(errno)") }
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                for (i, byte) in socket.utf8.prefix(raw.count - 1).enumerated() { raw[i] = byte }
            }
            let rc = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(s, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            if rc == 0 {
                fd = s
                break
            }
            Glibc.close(s)
            guard Date() < deadline, process.isRunning else {
                throw TestFailure("qemu-ga did not listen on \(socket) (running: \(process.isRunning))")
            }
            usleep(20_000)
        }
        try sync()
    }

    /// `guest-sync-delimited`: the reply follows a 0xFF byte; anything before it is stale.
    func sync() throws {
        nextId += 1
        try send("{\"execute\":\"guest-sync-delimited\",\"arguments\":{\"id\":\(nextId)}}")
        let deadline = Date().addingTimeInterval(10)
        while true {
            if let mark = buffer.firstIndex(of: 0xFF) {
                buffer.removeSubrange(...mark)
                break
            }
            buffer.removeAll()
            try fill(until: deadline)
        }
        let reply = try reply(until: deadline)
        guard reply.returned == nextId else { throw TestFailure("guest-sync-delimited: \(reply)") }
    }

    /// Runs one command; the reply object (`return` or `error`). Blocking: call it through `offThread`.
    func execute(_ command: String, _ arguments: String? = nil, timeout: Double = 60) throws -> QMPReply {
        try send("{\"execute\":\"\(command)\"" + (arguments.map { ",\"arguments\":\($0)" } ?? "") + "}")
        return try reply(until: Date().addingTimeInterval(timeout))
    }

    /// `guest-fsfreeze-freeze-list` of exactly `mounts`.
    func freeze(_ mounts: [String]) throws -> QMPReply {
        let list = mounts.map { "\"\($0)\"" }.joined(separator: ",")
        return try execute("guest-fsfreeze-freeze-list", "{\"mountpoints\":[\(list)]}")
    }

    /// Thaws (best effort) and ends the agent; never throws.
    func stop() {
        if fd >= 0 {
            _ = try? execute("guest-fsfreeze-thaw", timeout: 30)
            Glibc.close(fd)
            fd = -1
        }
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        let end = Date().addingTimeInterval(3)
        while process.isRunning && Date() < end { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    private func send(_ line: String) throws {
        let bytes = Array((line + "\n").utf8)
        guard bytes.withUnsafeBytes({ Glibc.write(fd, $0.baseAddress, $0.count) }) == bytes.count else {
            throw TestFailure("write to qemu-ga: errno \(errno)")
        }
    }

    /// The next JSON object line (events skipped).
    private func reply(until deadline: Date) throws -> QMPReply {
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                let line = Data(buffer[..<newline])
                buffer.removeSubrange(...newline)
                guard !line.isEmpty else { continue }
                guard let object = try JSONSerialization.jsonObject(with: line) as? [String: Any] else {
                    throw TestFailure("qemu-ga sent \(String(decoding: line, as: UTF8.self))")
                }
                if object["event"] != nil { continue }
                let error = object["error"] as? [String: Any]
                return QMPReply(
                    returned: object["return"] as? Int, status: object["return"] as? String,
                    error: error.map { "\($0["class"] ?? ""): \($0["desc"] ?? "")" })
            }
            try fill(until: deadline)
        }
    }

    /// Reads what is there, waiting until `deadline` at most.
    private func fill(until deadline: Date) throws {
        let left = Int32(max(0, deadline.timeIntervalSinceNow * 1000))
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard left > 0, poll(&pfd, 1, left) == 1 else { throw TestFailure("qemu-ga did not answer in time") }
        var chunk = [UInt8](repeating: 0, count: 4096)
        let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { throw TestFailure("qemu-ga closed the connection") }
        buffer += chunk[..<n]
    }
}

/// One QMP reply: an integer or string `return`, or an error (class: description).
struct QMPReply: Sendable, CustomStringConvertible {
    var returned: Int?
    var status: String?
    var error: String?
    var description: String { error.map { "error \($0)" } ?? "return \(returned.map(String.init) ?? status ?? "{}")" }
}

/// Runs blocking `body` on its own thread (never on the cooperative pool).
func offThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}
