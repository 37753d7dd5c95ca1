import CLinux
import Glibc

/// The ownership and permission rule for scripts and configs, applied to every component of the path.
///
/// The path is resolved component by component, never through `realpath`: every directory walked
/// through, every symlink met on the way (and the directory it lives in), and the file itself must be
/// owned by root — or by the user running snaporch — and not writable by group or others. A
/// world-writable directory is accepted only when it has the sticky bit (like `/tmp`) and the entry
/// below it is owned by a trusted user. This extends the original's 600/700 rule: whoever can change a
/// script, or swap a directory or a link above it, would run code as root during the backup.
/// Executables are also checked along their interpreter chain (see `InterpreterChain`).
package struct PathSecurity: Sendable, Hashable {
    /// Owners trusted to hold scripts and configs.
    package var trustedOwners: Set<UInt32>

    /// Trusts root and the effective user (which is root when snaporch runs for real).
    package init(trustedOwners: Set<UInt32> = [0, geteuid()]) { self.trustedOwners = trustedOwners }

    /// Every way `path` breaks the rule; empty when it is safe.
    package func problems(for path: String) -> [String] {
        let walk = PathWalk(rule: self).walk(path)
        walk.close()
        return walk.problems
    }

    /// The rule for a file that is executed: its path, then its interpreter chain (`#!` interpreter,
    /// the binary an `env` line finds, nested `#!` lines).
    package func executableProblems(for path: String, searchPath: String = Paths.scriptSearchPath) -> [String] {
        let found = problems(for: path)
        if !found.isEmpty { return found }
        switch InterpreterChain(rule: self, searchPath: searchPath).resolve(path, arguments: []) {
        case .success(let exec):
            exec.close()
            return []
        case .failure(let refusal):
            return refusal.problems
        }
    }

    /// Opens `path` after checking it, as the very file checked: an `O_PATH` descriptor (close-on-exec)
    /// that the caller owns, or every problem found.
    ///
    /// Safety contract: the descriptor names the file the checks were made on, whatever happens to
    /// the path afterwards; exec it (`PosixSpawn`'s descriptor exec) instead of the path.
    package func openChecked(_ path: String) -> Result<Int32, PathRefusal> {
        let walk = PathWalk(rule: self).walk(path)
        guard walk.problems.isEmpty, walk.fd >= 0 else {
            walk.close()
            return .failure(PathRefusal(path: path, problems: walk.problems.isEmpty ? ["cannot open"] : walk.problems))
        }
        return .success(walk.fd)
    }

    /// The problems of an entry (file, symlink or directory) with `st` at `path`.
    func ownerProblem(_ st: stat, _ path: String, kind: String) -> String? {
        trustedOwners.contains(st.st_uid) ? nil : "\(kind)\(path) is owned by uid \(st.st_uid), not by root"
    }

    /// The problem of a directory that others may write to, unless it is sticky and world-writable.
    func directoryModeProblem(_ st: stat, _ path: String) -> String? {
        if Self.isStickyShared(st) { return nil }
        guard st.st_mode & 0o022 != 0 else { return nil }
        return
            "directory \(path) is writable by \(Self.who(st.st_mode)) (mode \(Self.octal(st.st_mode)); run chmod go-w \(path))"
    }

    /// True for a world-writable directory with the sticky bit (like `/tmp`): only an entry's owner
    /// may rename or remove it.
    static func isStickyShared(_ st: stat) -> Bool {
        st.st_mode & 0o002 != 0 && st.st_mode & UInt32(Glibc.S_ISVTX) != 0
    }

    package static func octal(_ mode: UInt32) -> String { String(mode & 0o7777, radix: 8) }

    static func who(_ mode: UInt32) -> String {
        switch (mode & 0o020 != 0, mode & 0o002 != 0) {
        case (true, true): return "group and others"
        case (true, false): return "its group"
        default: return "others"
        }
    }
}

/// A path refused by the rule, with every problem found.
package struct PathRefusal: Error, Sendable, Hashable, CustomStringConvertible {
    /// The path as configured.
    package var path: String
    /// What breaks the rule, first the most direct.
    package var problems: [String]

    package var description: String { problems.first ?? "\(path) is refused" }
}

extension PathSecurity {
    /// `realpath(3)`, nil when the path does not resolve (for display and mount matching, never for
    /// a security decision).
    package static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
