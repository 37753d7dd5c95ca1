import CLinux
import Glibc

/// FIFREEZE / FITHAW request numbers.
///
/// `FIFREEZE` is `_IOWR('X', 119, int)` = 0xC0045877 and `FITHAW` is `_IOWR('X', 120, int)` =
/// 0xC0045878 on Linux; the values come from `<linux/fs.h>` through the shim (Swift cannot import
/// the function-like `_IOWR` macros).
enum FreezeIoctl {
    /// `FIFREEZE` from `<linux/fs.h>`.
    static let freezeRequest = UInt(snaporch_fifreeze())
    /// `FITHAW` from `<linux/fs.h>`.
    static let thawRequest = UInt(snaporch_fithaw())
}

/// What one FIFREEZE or FITHAW returned. Interpreting it (already frozen by someone else, not
/// frozen, cannot be frozen) is the freeze layer's business, not this one's.
package enum FreezeIoctlResult: Sendable, Hashable {
    /// The call succeeded.
    case done
    /// The call failed with this errno (FIFREEZE: `EBUSY` already frozen, `EOPNOTSUPP` cannot be
    /// frozen; FITHAW: `EINVAL` was not frozen).
    case failed(Errno)

    /// Rebuilds a result from the number the guard's line protocol carries (0: done).
    package init(errnoValue: Int32) {
        self = errnoValue == 0 ? .done : .failed(Errno(rawValue: errnoValue))
    }

    /// 0 when done, else the errno number (what the guard's line protocol carries).
    package var errnoValue: Int32 {
        switch self {
        case .done: 0
        case .failed(let errno): errno.rawValue
        }
    }
}

extension FileDescriptor {
    /// Opens a mount point for the freeze ioctls (read-only, directory, no symlink, close-on-exec).
    package static func openMount(_ path: String) -> Result<FileDescriptor, Errno> {
        do {
            return .success(try open(path, [.readOnly, .directory, .noFollow]))
        } catch {
            return .failure(error.code)
        }
    }

    /// FIFREEZE on the filesystem of this directory descriptor, retried on `EINTR`.
    ///
    /// Safety contract: the caller must thaw every filesystem it froze, on every path. The call
    /// can sleep in the kernel until writeback completes and cannot be cancelled.
    package func freeze() -> FreezeIoctlResult { ioctlRetrying(FreezeIoctl.freezeRequest) }

    /// FITHAW on the filesystem of this directory descriptor, retried on `EINTR`.
    package func thaw() -> FreezeIoctlResult { ioctlRetrying(FreezeIoctl.thawRequest) }

    private func ioctlRetrying(_ request: UInt) -> FreezeIoctlResult {
        while true {
            if snaporch_ioctl_noarg(rawValue, request) == 0 { return .done }
            let e = Errno.current
            if e != .interrupted { return .failed(e) }
        }
    }
}
