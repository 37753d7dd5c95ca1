import Foundation
import SnapSystem

/// One run per machine: an exclusive `flock` on `/run/snaporch/lock`.
///
/// The kernel drops the lock when the holder dies, however it dies, so a crashed run never blocks
/// the next one.
package final class RunLock: Sendable {
    let fd: FileDescriptor

    private init(fd: FileDescriptor) { self.fd = fd }

    /// Takes the lock at once or fails, naming the holder's pid.
    package static func acquire(directory: String) throws(RunLockError) -> RunLock {
        do {
            try FileSystem.makeDirectory(directory, mode: 0o700)
        } catch {
            throw RunLockError.cannotCreate(directory: directory, reason: "\(error)")
        }
        let path = directory + "/lock"
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(path, [.readWrite, .create], mode: 0o600)
        } catch {
            throw RunLockError.cannotOpen(path: path, reason: error.reason)
        }
        if (try? fd.tryLockExclusive()) != true {
            let bytes = (try? fd.read(upTo: 32, at: 0)) ?? []
            fd.close()
            let holder = bytes.isEmpty ? "unknown" : String(decoding: bytes, as: UTF8.self).trimmingSpaces
            throw RunLockError.held(path: path, holder: holder)
        }
        try? fd.truncate(to: 0)
        try? fd.writeAll(Array("\(ThisProcess.id)\n".utf8), at: 0)
        return RunLock(fd: fd)
    }

    /// Takes the lock, waiting up to `waitUpTo` for a running holder to finish.
    package static func acquire(
        directory: String, waitUpTo: TimeSpan, clock: any RunClock = SystemClock()
    ) async throws(RunLockError) -> RunLock {
        let end = clock.deadline(after: waitUpTo)
        while true {
            do {
                return try acquire(directory: directory)
            } catch {
                if clock.now >= end || !error.isHeld { throw error }
                await clock.sleep(for: .milliseconds(100))
            }
        }
    }

    /// Lets go of the lock now, before this process ends (idempotent).
    package func release() { fd.close() }

    deinit { fd.close() }
}

/// Why the run lock could not be taken.
package enum RunLockError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The lock's directory could not be created.
    case cannotCreate(directory: String, reason: String)
    /// The lock file could not be opened.
    case cannotOpen(path: String, reason: String)
    /// Another run holds the lock (`holder`: the pid it wrote, or `unknown`).
    case held(path: String, holder: String)

    /// True when another run holds the lock: waiting may help; for the others it cannot.
    package var isHeld: Bool {
        if case .held = self { return true }
        return false
    }

    /// The sentence for the admin.
    package var message: String {
        switch self {
        case .cannotCreate(let directory, let reason): return "cannot create \(directory): \(reason)"
        case .cannotOpen(let path, let reason): return "cannot open \(path): \(reason)"
        case .held(let path, let holder):
            return "another snaporch run holds the lock \(path) (pid \(holder)); refusing to start a second one"
        }
    }

    package var description: String { message }
}
