import CLinux
import Glibc

/// FIFREEZE / FITHAW on an open directory fd of a mounted filesystem.
///
/// `FIFREEZE` is `_IOWR('X', 119, int)` = 0xC0045877 and `FITHAW` is `_IOWR('X', 120, int)` =
/// 0xC0045878 on Linux; the values come from `<linux/fs.h>` through the shim.
/// Safety contract: callers must thaw every filesystem they froze, on every path.
package enum FreezeIoctl {
    static let freezeRequest = UInt(snaporch_fifreeze())
    static let thawRequest = UInt(snaporch_fithaw())

    /// Freezes the filesystem of `fd`; returns 0 or the errno (EBUSY: already frozen, EOPNOTSUPP: cannot).
    package static func freeze(_ fd: Int32) -> Int32 { ioctlRetrying(fd, freezeRequest) }

    /// Thaws the filesystem of `fd`; returns 0 or the errno (EINVAL: it was not frozen).
    package static func thaw(_ fd: Int32) -> Int32 { ioctlRetrying(fd, thawRequest) }

    private static func ioctlRetrying(_ fd: Int32, _ request: UInt) -> Int32 {
        while true {
            if snaporch_ioctl_noarg(fd, request) == 0 { return 0 }
            let e = errno
            if e != EINTR { return e }
        }
    }

    /// Opens a mount point for the ioctls (read-only, directory, close-on-exec).
    package static func openMount(_ path: String) -> (fd: Int32, errno: Int32) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)
        return fd >= 0 ? (fd, 0) : (-1, errno)
    }

    /// `syncfs(2)` of the filesystem holding `fd`, so the freeze does not wait on writeback.
    package static func syncFilesystem(_ fd: Int32) -> Int32 { syncfs(fd) == 0 ? 0 : errno }
}
