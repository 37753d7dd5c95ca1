import Foundation
import Glibc

/// File helpers with the guarantees the agent needs: atomic replacement, explicit modes.
package enum FileSystem {
    /// Creates `path` and its parents with `mode` when missing.
    package static func makeDirectory(_ path: String, mode: Int = 0o755) throws {
        try FileManager.default.createDirectory(
            atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: mode])
    }

    /// Replaces `path` atomically: write a temp file in the same directory, fsync, rename, fsync the directory.
    /// A reader sees the old or the new content, never a torn file.
    ///
    /// Safety contract: the temp file has an unpredictable name (`<name>.tmp.<pid>.<random>`) and is
    /// created with `O_EXCL | O_NOFOLLOW` and `mode`, so a symlink or file planted in a shared
    /// directory is never followed or reused; a symlink at `path` itself is replaced, not followed.
    /// Temp files of this target left by a process that was killed are removed first.
    /// - Parameter beforeRename: a test seam, called once the temp file is complete.
    package static func writeAtomically(
        _ bytes: [UInt8], to path: String, mode: mode_t = 0o600, beforeRename: () -> Void = {}
    ) throws(SystemError) {
        let directory = (path as NSString).deletingLastPathComponent
        removeStaleTemps(of: path)
        let temp = "\(path).tmp.\(getpid()).\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"
        let fd = try FileDescriptor.open(temp, [.writeOnly, .create, .exclusive, .noFollow], mode: UInt32(mode))
        do {
            // The umask may have narrowed the mode; never widen it, but make it exact.
            try fd.setPermissions(UInt32(mode))
            try fd.writeAll(bytes)
            try fd.sync()
        } catch {
            fd.close()
            remove(temp)
            throw error
        }
        fd.close()
        beforeRename()
        do {
            try rename(temp, to: path)
        } catch {
            remove(temp)
            throw error
        }
        if let directoryFD = try? FileDescriptor.open(directory.isEmpty ? "." : directory, [.readOnly, .directory]) {
            try? directoryFD.sync()
            directoryFD.close()
        }
    }

    /// Removes `<path>.tmp.<pid>[.<random>]` files whose writer is no longer alive: regular files
    /// owned by this user only (never a symlink, never someone else's file).
    static func removeStaleTemps(of path: String) {
        let directory = (path as NSString).deletingLastPathComponent
        let prefix = (path as NSString).lastPathComponent + ".tmp."
        let dir = directory.isEmpty ? "." : directory
        for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] where name.hasPrefix(prefix) {
            let rest = name.dropFirst(prefix.count)
            guard let pid = Int32(rest.split(separator: ".", maxSplits: 1).first ?? ""), pid > 0,
                pid != getpid(), !ProcessLiveness.isAlive(pid)
            else { continue }
            let full = dir + "/" + name
            var st = stat()
            guard lstat(full, &st) == 0, st.st_mode & S_IFMT == S_IFREG, st.st_uid == geteuid() else { continue }
            unlink(full)
        }
    }
}
