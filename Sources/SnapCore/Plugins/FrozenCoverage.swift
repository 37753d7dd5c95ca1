import Foundation
import SnapSystem

/// Whether the directories a database writes durable state to all lie on filesystems the run
/// freezes. The frozen filesystems form one atomic image; a directory outside them (an InnoDB redo
/// log, a symlinked `pg_wal` or tablespace on another disk) is captured at another instant, so the
/// snapshot is not the consistent image the plugin would claim.
///
/// Filesystems are compared, not paths: a directory is covered when the filesystem (`major:minor`)
/// of the mount that holds its real path is the filesystem of a frozen mount (a bind mount of a
/// frozen filesystem is frozen with it).
package struct FrozenCoverage: Sendable {
    /// A directory of the database, named by what it holds.
    package struct Directory: Sendable, Hashable {
        /// What it is (`datadir`, `innodb_log_group_home_dir`, `tablespace ts1`…).
        package var role: String
        /// The path, as the server reports it.
        package var path: String

        /// Creates a directory entry.
        package init(_ role: String, _ path: String) {
            self.role = role
            self.path = path
        }
    }

    /// A directory outside the frozen set, with the mount that holds it.
    package struct Gap: Sendable, Hashable, CustomStringConvertible {
        /// The directory.
        package var directory: Directory
        /// Its real path.
        package var realPath: String
        /// The mount that holds it (nil when no mount matched).
        package var mount: MountEntry?

        package var description: String {
            let on = mount.map { "\($0.mountPoint) (\($0.fsType))" } ?? "an unknown mount"
            let real = realPath == directory.path ? "" : " (really \(realPath))"
            return "\(directory.role) \(directory.path)\(real) is on \(on), which is not frozen"
        }
    }

    /// The mount table (visible mounts only matter).
    package var entries: [MountEntry]
    /// The mount points the run freezes.
    package var frozen: [String]

    /// Creates a check against the current mount table.
    package init(frozen: [String], entries: [MountEntry] = MountTable.entries()) {
        self.frozen = frozen
        self.entries = entries
    }

    /// The mount holding `realPath`: the longest visible mount point that is a prefix of it.
    package func mount(holding realPath: String) -> MountEntry? {
        var visible: [String: MountEntry] = [:]
        for entry in entries { visible[entry.mountPoint] = entry }
        var best: MountEntry?
        for (point, entry) in visible
        where realPath == point || realPath.hasPrefix(point == "/" ? "/" : point + "/") {
            if best == nil || point.count > best!.mountPoint.count { best = entry }
        }
        return best
    }

    /// The directories of `directories` that are not on a frozen filesystem (duplicates removed).
    package func gaps(_ directories: [Directory]) -> [Gap] {
        var visible: [String: MountEntry] = [:]
        for entry in entries { visible[entry.mountPoint] = entry }
        let frozenDevices = Set(frozen.compactMap { visible[$0]?.device })
        var seen: Set<String> = []
        var out: [Gap] = []
        for directory in directories where !directory.path.isEmpty {
            let real = PathSecurity.realPath(directory.path) ?? directory.path
            guard seen.insert(real).inserted else { continue }
            let mount = self.mount(holding: real)
            if let mount, frozenDevices.contains(mount.device) { continue }
            out.append(Gap(directory: directory, realPath: real, mount: mount))
        }
        return out
    }

    /// One sentence naming every gap, for a step's error or a validate finding.
    package static func describe(_ gaps: [Gap]) -> String {
        gaps.map(\.description).joined(separator: "; ")
    }

    /// The targets of symbolic links (and InnoDB `.isl` link files) directly in `directory` and in
    /// its subdirectories (databases), as directories to check; bounded to `limit` entries read.
    package static func linkedDirectories(under directory: String, limit: Int = 20_000) -> [Directory] {
        let fm = FileManager.default
        var out: [Directory] = []
        var budget = limit
        func scan(_ dir: String, depth: Int) {
            for name in (try? fm.contentsOfDirectory(atPath: dir)) ?? [] {
                budget -= 1
                if budget < 0 { return }
                let path = dir + "/" + name
                if let target = try? fm.destinationOfSymbolicLink(atPath: path) {
                    let absolute = target.hasPrefix("/") ? target : dir + "/" + target
                    var isDir: ObjCBool = false
                    let exists = fm.fileExists(atPath: absolute, isDirectory: &isDir)
                    let linked = exists && isDir.boolValue ? absolute : (absolute as NSString).deletingLastPathComponent
                    out.append(Directory("symlinked \(depth == 0 ? "database" : "table") \(name)", linked))
                } else if name.hasSuffix(".isl"), let text = try? String(contentsOfFile: path, encoding: .utf8) {
                    let file = text.trimmingCharacters(in: .whitespacesAndNewlines)
                    if file.hasPrefix("/") {
                        out.append(Directory("DATA DIRECTORY of \(name)", (file as NSString).deletingLastPathComponent))
                    }
                } else if depth == 0 {
                    var isDir: ObjCBool = false
                    if fm.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue { scan(path, depth: 1) }
                }
            }
        }
        scan(directory, depth: 0)
        return out
    }
}
