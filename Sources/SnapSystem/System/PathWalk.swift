import CLinux
import Foundation
import Glibc

/// Resolves a path one component at a time with `openat(O_PATH | O_NOFOLLOW)`, applying the
/// `PathSecurity` rule to each directory entered, each symlink met (and the directory holding it),
/// and the final entry — all on the descriptors it opened, so nothing is checked by name twice.
///
/// Symlinks are followed by hand (at most 40, like the kernel); `..` goes back to the directory
/// actually walked through.
struct PathWalk {
    let rule: PathSecurity

    /// The walk's result: the final entry's `O_PATH` descriptor (−1 when not reached), its physical
    /// path, and every problem found.
    struct Result {
        var fd: Int32 = -1
        var resolved: String = ""
        var problems: [String] = []

        /// Closes the final descriptor, when the caller does not take it.
        func close() { if fd >= 0 { Sys.close(fd) } }
    }

    /// A directory entered: its descriptor, physical path and metadata.
    private struct Directory {
        let fd: Int32
        let path: String
        let st: stat
    }

    static let maxSymlinks = 40

    /// Walks `path` (relative paths start at the working directory).
    func walk(_ path: String) -> Result {
        var result = Result()
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        var pending = Self.components(absolute)
        var stack: [Directory] = []
        defer { for directory in stack { Sys.close(directory.fd) } }
        guard let root = enter(fd: snaporch_open_entry(AT_FDCWD, "/"), path: "/", &result) else { return result }
        stack.append(root)
        var links = 0
        while !pending.isEmpty {
            let name = pending.removeFirst()
            if name == "." { continue }
            if name == ".." {
                if stack.count > 1 { Sys.close(stack.removeLast().fd) }
                continue
            }
            let parent = stack[stack.count - 1]
            let entryPath = parent.path == "/" ? "/" + name : parent.path + "/" + name
            let fd = snaporch_open_entry(parent.fd, name)
            guard fd >= 0 else {
                result.problems.append("\(entryPath): \(String(cString: strerror(errno)))")
                return result
            }
            var st = stat()
            guard fstat(fd, &st) == 0 else {
                result.problems.append("\(entryPath): \(String(cString: strerror(errno)))")
                Sys.close(fd)
                return result
            }
            // The entry as a member of its directory: in a sticky shared directory only its owner can swap it.
            if PathSecurity.isStickyShared(parent.st), !rule.trustedOwners.contains(st.st_uid) {
                result.problems.append(
                    "\(entryPath) sits in the sticky world-writable \(parent.path) but is not owned by root")
            }
            switch st.st_mode & S_IFMT {
            case S_IFLNK:
                defer { Sys.close(fd) }
                links += 1
                guard links <= Self.maxSymlinks else {
                    result.problems.append("\(path): too many levels of symbolic links")
                    return result
                }
                if let problem = rule.ownerProblem(st, entryPath, kind: "symlink ") { result.problems.append(problem) }
                guard let target = Self.readLink(fd) else {
                    result.problems.append("\(entryPath): cannot read the symlink: \(String(cString: strerror(errno)))")
                    return result
                }
                if target.hasPrefix("/") {
                    while stack.count > 1 { Sys.close(stack.removeLast().fd) }
                }
                pending = Self.components(target) + pending
            case S_IFDIR:
                guard let directory = enter(fd: fd, path: entryPath, &result) else { return result }
                stack.append(directory)
            default:
                guard pending.allSatisfy({ $0 == "." }) else {
                    result.problems.append("\(entryPath) is not a directory")
                    Sys.close(fd)
                    return result
                }
                if let problem = rule.ownerProblem(st, entryPath, kind: "") { result.problems.append(problem) }
                if st.st_mode & 0o022 != 0 {
                    result.problems.append(
                        "\(entryPath) is writable by \(PathSecurity.who(st.st_mode)) "
                            + "(mode \(PathSecurity.octal(st.st_mode)); run chmod go-w)")
                }
                result.fd = fd
                result.resolved = entryPath
                return result
            }
        }
        // The path names a directory: hand over a descriptor of its own.
        let last = stack[stack.count - 1]
        result.fd = snaporch_open_entry(last.fd, ".")
        result.resolved = last.path
        return result
    }

    /// Checks a directory about to be entered; nil (with the problem recorded) when it cannot be.
    private func enter(fd: Int32, path: String, _ result: inout Result) -> Directory? {
        guard fd >= 0 else {
            result.problems.append("\(path): \(String(cString: strerror(errno)))")
            return nil
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            result.problems.append("\(path): \(String(cString: strerror(errno)))")
            Sys.close(fd)
            return nil
        }
        if let problem = rule.ownerProblem(st, path, kind: "directory ") { result.problems.append(problem) }
        if let problem = rule.directoryModeProblem(st, path) { result.problems.append(problem) }
        return Directory(fd: fd, path: path, st: st)
    }

    /// The components of `path`, without empty ones.
    static func components(_ path: String) -> [String] {
        path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    }

    /// The target of the symlink open as `O_PATH | O_NOFOLLOW` at `fd`.
    static func readLink(_ fd: Int32) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlinkat(fd, "", &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
