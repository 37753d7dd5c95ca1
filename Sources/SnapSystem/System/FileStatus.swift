import Glibc

/// What `stat(2)` says about a file: its type, permission bits, owner and size.
package struct FileStatus: Sendable, Hashable {
    /// The file type.
    package enum Kind: Sendable, Hashable {
        case regular, directory, symbolicLink, other
    }

    /// The file type.
    package var kind: Kind
    /// The permission bits (`st_mode & 0o7777`).
    package var permissions: UInt32
    /// The owner's user id.
    package var ownerID: UInt32
    /// The size in bytes.
    package var size: Int64

    init(_ st: stat) {
        switch st.st_mode & S_IFMT {
        case S_IFREG: kind = .regular
        case S_IFDIR: kind = .directory
        case S_IFLNK: kind = .symbolicLink
        default: kind = .other
        }
        permissions = UInt32(st.st_mode & 0o7777)
        ownerID = UInt32(st.st_uid)
        size = Int64(st.st_size)
    }

    /// The status of `path`; a symlink itself (`lstat`) unless `followingSymlinks`.
    package static func of(_ path: String, followingSymlinks: Bool = true) throws(SystemError) -> FileStatus {
        var st = stat()
        if followingSymlinks {
            try Sys.call("stat", path) { stat(path, &st) }
        } else {
            try Sys.call("lstat", path) { lstat(path, &st) }
        }
        return FileStatus(st)
    }
}
