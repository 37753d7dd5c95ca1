import Glibc

/// Reads kernel pseudo-files (`/proc`, `/sys`) completely.
///
/// Such files report a size of 0 and hand out their content one `read(2)` at a time (a page or
/// so each). `String(contentsOfFile:)` and `FileManager.contents(atPath:)` stop after the first
/// read, so everything past ~4 KiB of `/proc/self/mountinfo` — the mounts of any Docker or
/// Kubernetes host — was invisible. This reads in a loop until `read` returns 0. Every read of a
/// `/proc` or `/sys` file in the agent goes through here.
package enum ProcFile {
    /// Upper bound on what one pseudo-file may hold (a runaway file cannot exhaust memory).
    package static let defaultLimit = 64 << 20

    /// The whole content of `path`, or nil when it cannot be opened or read (or exceeds `limit`).
    package static func bytes(_ path: String, limit: Int = defaultLimit) -> [UInt8]? {
        try? read(path, limit: limit)
    }

    /// The whole content of `path` as UTF-8 text (invalid bytes replaced), or nil.
    package static func text(_ path: String, limit: Int = defaultLimit) -> String? {
        bytes(path, limit: limit).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The whole content of `path`; throws the failing call's errno (`EFBIG` past `limit`).
    package static func read(_ path: String, limit: Int = defaultLimit) throws(SystemError) -> [UInt8] {
        let fd = try Sys.open(path, O_RDONLY)
        defer { Sys.close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = try Sys.callSize("read") {
                chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            }
            if n == 0 { return out }
            out += chunk[0..<n]
            if out.count > limit { throw SystemError("read", path, errno: EFBIG) }
        }
    }
}
