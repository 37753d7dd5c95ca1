import Foundation
import Glibc
import Testing

@testable import SnapCore
@testable import SnapOrchestrator
@testable import SnapSystem

/// A loop-mounted ext4 image made by the test itself: the only kind of filesystem a test may freeze.
///
/// `cleanup()` always thaws (fsfreeze -u), unmounts and deletes the image.
final class LoopMount: @unchecked Sendable {
    let image: String
    let mountPoint: String
    private(set) var bindMounts: [String] = []

    /// Creates a `sizeMB` ext4 image and mounts it at `directory/name`.
    init(in directory: String, name: String = "m", sizeMB: Int = 32, fsType: String = "ext4") async throws {
        guard TestEnv.isRoot else { throw TestFailure("not root: cannot create loop mounts") }
        image = "\(directory)/\(name.replacing(" ", with: "_")).img"
        mountPoint = "\(directory)/\(name)"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        let mkfs = fsType == "xfs" ? "mkfs.xfs -q -f" : "mkfs.ext4 -q -F"
        let quoted = ShellQuote.quote(mountPoint)
        let result = try await sh(
            "truncate -s \(sizeMB)M \(image) && \(mkfs) \(image) && mount -o loop \(image) \(quoted)")
        guard result.code == 0 else { throw TestFailure("loop mount failed: \(result.output)") }
        // Safety net: the mount must be a loop device and not the root filesystem.
        var st = Glibc.stat(), rootSt = Glibc.stat()
        guard lstat(mountPoint, &st) == 0, lstat(systemRoot, &rootSt) == 0, st.st_dev != rootSt.st_dev else {
            throw TestFailure("\(mountPoint) is not a separate filesystem")
        }
    }

    /// Bind-mounts the image's mount at `path`.
    func bind(at path: String) async throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let r = try await sh("mount --bind \(ShellQuote.quote(mountPoint)) \(ShellQuote.quote(path))")
        guard r.code == 0 else { throw TestFailure("bind mount failed: \(r.output)") }
        bindMounts.append(path)
    }

    /// Thaws (best effort), unmounts and removes everything.
    func cleanup() async {
        let mp = ShellQuote.quote(mountPoint)
        _ = try? await sh("fsfreeze -u \(mp) 2>/dev/null; true")
        for bind in bindMounts.reversed() {
            _ = try? await sh("umount \(ShellQuote.quote(bind)) || umount -l \(ShellQuote.quote(bind))")
        }
        _ = try? await sh("umount \(mp) || umount -l \(mp)")
        _ = try? await sh("for d in $(losetup -j \(image) -O NAME -n); do losetup -d $d; done; true")
        try? FileManager.default.removeItem(atPath: image)
    }
}

/// A failed test precondition with its reason.
struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Whether a write to `directory` completes within `seconds` (false while the filesystem is frozen).
/// The write runs on its own thread in this process (no fork/exec latency in the measurement); if it
/// blocks on a frozen filesystem, it finishes once the filesystem is thawed (the fixtures always thaw).
func writeCompletes(in directory: String, within seconds: Double) async -> Bool {
    let done = Flag()
    let file = directory + "/probe-\(UInt32.random(in: 0...UInt32.max))"
    let thread = Thread {
        let fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        if fd >= 0 {
            _ = write(fd, "probe\n", 6)
            close(fd)
        }
        done.set()
    }
    thread.start()
    let end = Date().addingTimeInterval(seconds)
    while Date() < end {
        if done.value { return true }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return done.value
}

/// A thread-safe boolean.
final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var state = false
    var value: Bool { lock.withLock { state } }
    func set() { lock.withLock { state = true } }
}

/// A test tree plus the loop and tmpfs mounts made in it; `withFreezeFixture` always cleans it up.
final class FreezeFixture: @unchecked Sendable {
    let tree = TestTree("frz")
    private(set) var loops: [LoopMount] = []
    private(set) var extraMounts: [String] = []

    /// A new loop-mounted ext4 image at `directory/name` (the tree's root by default; a directory
    /// of another loop mount puts the image on that filesystem).
    func loop(_ name: String = "m", fsType: String = "ext4", sizeMB: Int? = nil, in directory: String? = nil)
        async throws -> LoopMount
    {
        let m = try await LoopMount(
            in: directory ?? tree.root, name: name, sizeMB: sizeMB ?? (fsType == "xfs" ? 320 : 32), fsType: fsType)
        loops.append(m)
        return m
    }

    /// A 1 MiB tmpfs at `tree/name`.
    func tmpfs(_ name: String) async throws -> String {
        let path = tree.path(name)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        _ = try await sh("mount -t tmpfs -o size=1m tmpfs \(ShellQuote.quote(path))")
        extraMounts.append(path)
        return path
    }

    /// Loop-mounts an existing image (a copy made by the test) at `tree/name`; unmounted in cleanup.
    func mountImage(_ image: String, at name: String) async throws -> String {
        let path = tree.path(name)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let r = try await sh("mount -o loop \(ShellQuote.quote(image)) \(ShellQuote.quote(path))")
        guard r.code == 0 else { throw TestFailure("cannot mount \(image): \(r.output)") }
        extraMounts.append(path)
        return path
    }

    func cleanup() async {
        // Thaw everything first: a loop mount whose image lives on another one cannot be unmounted
        // while that one is frozen.
        for loop in loops { _ = try? await sh("fsfreeze -u \(ShellQuote.quote(loop.mountPoint)) 2>/dev/null; true") }
        for path in extraMounts.reversed() {
            _ = try? await sh("umount \(ShellQuote.quote(path)) || umount -l \(ShellQuote.quote(path))")
        }
        for loop in loops.reversed() { await loop.cleanup() }
        tree.cleanup()
    }
}

/// Runs `body` with a fresh fixture and always thaws, unmounts and removes it afterwards.
func withFreezeFixture(_ body: (FreezeFixture) async throws -> Void) async throws {
    let fixture = FreezeFixture()
    do {
        try await body(fixture)
    } catch {
        await fixture.cleanup()
        throw error
    }
    await fixture.cleanup()
}
