import Foundation
import Glibc
import SnapSystem

/// Reads newline-terminated lines from a pipe with a deadline, without blocking forever.
struct LineChannel {
    let fd: Int32
    private var pending: [UInt8] = []

    init(fd: Int32) { self.fd = fd }

    /// The next line, or nil on EOF, error or when `timeoutMs` passes.
    mutating func readLine(timeoutMs: Int) -> String? {
        let end = Sys.monotonicNanos() + UInt64(max(timeoutMs, 0)) * 1_000_000
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            if let newline = pending.firstIndex(of: 0x0A) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                return line
            }
            let now = Sys.monotonicNanos()
            if now >= end { return nil }
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let rc = poll(&entry, 1, Int32(clamping: (end - now) / 1_000_000 + 1))
            if rc < 0 && errno == EINTR { continue }
            if rc <= 0 { return nil }
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            if n <= 0 { return nil }
            pending += chunk[0..<n]
        }
    }
}
