import Foundation
import Glibc
import SnapSystem

/// One run per machine: an exclusive `flock` on `/run/snaporch/lock`.
///
/// The kernel drops the lock when the holder dies, however it dies, so a crashed run never blocks
/// the next one.
package final class RunLock: Sendable {
    let fd: Int32

    private init(fd: Int32) { self.fd = fd }

    /// Takes the lock at once or fails, naming the holder's pid.
    package static func acquire(directory: String) throws(RunLockError) -> RunLock {
        do {
            try FileSystem.makeDirectory(directory, mode: 0o700)
        } catch {
            throw RunLockError(message: "cannot create \(directory): \(error)")
        }
        let path = directory + "/lock"
        let fd = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw RunLockError(message: "cannot open \(path): \(String(cString: strerror(errno)))") }
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            if errno == EINTR { continue }
            var buffer = [UInt8](repeating: 0, count: 32)
            let n = pread(fd, &buffer, buffer.count, 0)
            close(fd)
            let holder = n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self).trimmingSpaces : "unknown"
            throw RunLockError(
                message: "another snaporch run holds the lock \(path) (pid \(holder)); refusing to start a second one")
        }
        _ = ftruncate(fd, 0)
        let pid = Array("\(getpid())\n".utf8)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
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
                if clock.now >= end || error.message.hasPrefix("cannot") { throw error }
                await clock.sleep(for: .milliseconds(100))
            }
        }
    }

    deinit { close(fd) }
}

/// The lock is held by another run.
package struct RunLockError: Error, Sendable, CustomStringConvertible {
    package var message: String
    package var description: String { message }
}
