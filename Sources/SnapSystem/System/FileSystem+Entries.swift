import Glibc

extension FileSystem {
    /// Removes the file (or symlink) `path` (`unlink(2)`); false when it could not.
    @discardableResult
    package static func remove(_ path: String) -> Bool { unlink(path) == 0 }

    /// Renames `source` to `destination` atomically within one filesystem (`rename(2)`).
    package static func rename(_ source: String, to destination: String) throws(SystemError) {
        try Sys.call("rename", destination) { Glibc.rename(source, destination) }
    }

    /// The target of the symbolic link `path` (`readlink(2)`), or nil.
    package static func symbolicLinkTarget(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink(path, &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// True when the calling user may execute `path` (`access(X_OK)`).
    package static func isExecutable(_ path: String) -> Bool { access(path, X_OK) == 0 }

    /// Bytes in use on the filesystem mounted at `mountPoint` (`statvfs(3)`: blocks minus free
    /// blocks, times the fragment size), or nil when it cannot be asked.
    package static func usedBytes(ofFilesystemAt mountPoint: String) -> Int64? {
        var st = statvfs()
        guard statvfs(mountPoint, &st) == 0 else { return nil }
        return Int64(st.f_blocks - st.f_bfree) * Int64(st.f_frsize)
    }

}
