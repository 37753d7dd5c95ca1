import Glibc

/// The ownership and permission rule for scripts and configs, applied along the whole path.
///
/// A file passes when it and every directory above it (after resolving symlinks, and also the
/// directories holding the symlink itself) is owned by root — or by the user running snaporch —
/// and is not writable by group or others. A world-writable directory is accepted only when it has
/// the sticky bit (like `/tmp`) and the entry below it is owned by a trusted user. This extends the
/// original's 600/700 rule: whoever can change a script, or swap a directory above it, would run
/// code as root during the backup.
public struct PathSecurity: Sendable {
    /// Owners trusted to hold scripts and configs.
    public var trustedOwners: Set<UInt32>

    /// Trusts root and the effective user (which is root when snaporch runs for real).
    public init(trustedOwners: Set<UInt32> = [0, geteuid()]) { self.trustedOwners = trustedOwners }

    /// Every way `path` breaks the rule; empty when it is safe.
    public func problems(for path: String) -> [String] {
        var st = stat()
        guard lstat(path, &st) == 0 else {
            return ["\(path): \(String(cString: strerror(errno)))"]
        }
        var found: [String] = []
        var target = path
        if (st.st_mode & S_IFMT) == S_IFLNK {
            // Whoever can rewrite the directory holding the link can swap it.
            found += directoryProblems(parentOf(path), entryOwner: st.st_uid, entry: path)
            guard let resolved = Self.realPath(path) else {
                return found + ["\(path): is a symlink to a missing file"]
            }
            target = resolved
            guard stat(target, &st) == 0 else { return found + ["\(target): \(String(cString: strerror(errno)))"] }
        } else if let resolved = Self.realPath(path) {
            target = resolved
        }
        if !trustedOwners.contains(st.st_uid) {
            found.append("\(target) is owned by uid \(st.st_uid), not by root")
        }
        if st.st_mode & 0o022 != 0 {
            found.append(
                "\(target) is writable by \(Self.who(st.st_mode)) (mode \(Self.octal(st.st_mode)); run chmod go-w)")
        }
        found += directoryProblems(parentOf(target), entryOwner: st.st_uid, entry: target)
        return found
    }

    private func directoryProblems(_ start: String, entryOwner: UInt32, entry: String) -> [String] {
        var found: [String] = []
        var dir = start
        var childOwner = entryOwner
        var child = entry
        while true {
            var st = stat()
            if lstat(dir, &st) != 0 {
                found.append("\(dir): \(String(cString: strerror(errno)))")
                break
            }
            let worldWritable = st.st_mode & 0o002 != 0
            let sticky = st.st_mode & UInt32(S_ISVTX) != 0
            if !trustedOwners.contains(st.st_uid) {
                found.append("directory \(dir) (above \(child)) is owned by uid \(st.st_uid), not by root")
            }
            if worldWritable && sticky {
                if !trustedOwners.contains(childOwner) {
                    found.append("\(child) sits in the sticky world-writable \(dir) but is not owned by root")
                }
            } else if st.st_mode & 0o022 != 0 {
                found.append(
                    "directory \(dir) (above \(child)) is writable by \(Self.who(st.st_mode)) "
                        + "(mode \(Self.octal(st.st_mode)); run chmod go-w \(dir))")
            }
            if dir == "/" { break }
            childOwner = st.st_uid
            child = dir
            dir = parentOf(dir)
        }
        return found
    }

    private func parentOf(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let parent = String(path[..<slash])
        return parent.isEmpty ? "/" : parent
    }

    /// `realpath(3)`, nil when the path does not resolve.
    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    static func octal(_ mode: UInt32) -> String { String(mode & 0o7777, radix: 8) }

    static func who(_ mode: UInt32) -> String {
        switch (mode & 0o020 != 0, mode & 0o002 != 0) {
        case (true, true): return "group and others"
        case (true, false): return "its group"
        default: return "others"
        }
    }
}
