import Foundation
import Glibc

/// File helpers with the guarantees the agent needs: atomic replacement, explicit modes.
public enum FileSystem {
    /// Creates `path` and its parents with `mode` when missing.
    public static func makeDirectory(_ path: String, mode: Int = 0o755) throws {
        try FileManager.default.createDirectory(
            atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: mode])
    }

    /// Replaces `path` atomically: write a temp file in the same directory, fsync, rename, fsync the directory.
    /// A reader sees the old or the new content, never a torn file.
    public static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t = 0o600) throws(SystemError) {
        let directory = (path as NSString).deletingLastPathComponent
        let temp = "\(path).tmp.\(getpid())"
        let fd = try Sys.open(temp, O_WRONLY | O_CREAT | O_TRUNC, mode: mode)
        do {
            try Sys.writeAll(fd, bytes)
            try Sys.call("fsync", temp) { fsync(fd) }
        } catch {
            Sys.close(fd)
            unlink(temp)
            throw error
        }
        Sys.close(fd)
        do {
            try Sys.call("rename", path) { rename(temp, path) }
        } catch {
            unlink(temp)
            throw error
        }
        let dirFD = Glibc.open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirFD >= 0 {
            _ = fsync(dirFD)
            Sys.close(dirFD)
        }
    }
}
