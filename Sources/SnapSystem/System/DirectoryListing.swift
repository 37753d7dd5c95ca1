import Glibc

/// The entries of a directory as the kernel names them: raw bytes (not necessarily UTF-8).
package enum DirectoryListing {
    /// The names in `path`, without `.` and `..`, in the order the kernel returns them.
    /// - Throws: `SystemError` from `opendir` (ENOENT for a missing directory).
    package static func names(in path: String) throws(SystemError) -> [[UInt8]] {
        guard let dir = opendir(path) else { throw SystemError("opendir", path, errno: errno) }
        defer { closedir(dir) }
        var names: [[UInt8]] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                Array(raw.prefix(while: { $0 != 0 }))
            }
            if name == [0x2E] || name == [0x2E, 0x2E] { continue }
            names.append(name)
        }
        return names
    }
}
