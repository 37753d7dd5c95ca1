import Glibc

/// What `stat(2)` (or `lstat(2)`) says about a path: its kind, mode and owner.
package struct FileInfo: Sendable, Hashable {
    /// The file type of `st_mode`.
    package enum Kind: Sendable, Hashable {
        case regular
        case directory
        case symlink
        case other
    }

    /// The file type.
    package var kind: Kind
    /// The whole `st_mode` (type and permission bits).
    package var mode: UInt32
    /// The owner's uid.
    package var owner: UInt32

    /// Describes `path`; with `followLinks: false` a symlink itself (`lstat`).
    /// - Throws: `SystemError` naming the call, the path and the errno.
    package static func of(_ path: String, followLinks: Bool = true) throws(SystemError) -> FileInfo {
        var st = stat()
        try Sys.call(followLinks ? "stat" : "lstat", path) { followLinks ? stat(path, &st) : lstat(path, &st) }
        let kind: Kind
        switch st.st_mode & S_IFMT {
        case S_IFREG: kind = .regular
        case S_IFDIR: kind = .directory
        case S_IFLNK: kind = .symlink
        default: kind = .other
        }
        return FileInfo(kind: kind, mode: st.st_mode, owner: st.st_uid)
    }

    /// The permission bits (`mode & 0o7777`).
    package var permissions: UInt32 { mode & 0o7777 }

    /// Whether this process may execute `path` (`access(X_OK)`).
    package static func isExecutable(_ path: String) -> Bool {
        access(path, X_OK) == 0
    }

    /// The effective uid of this process.
    package static var effectiveUserID: UInt32 { geteuid() }
}
