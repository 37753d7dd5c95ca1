import Foundation
import Glibc
import SnapSystem

/// Finds the drop-in executables of `scripts_dir`, in byte order, and says why others are skipped.
package struct DropInScanner: Sendable {
    /// A file of the directory that is not run, and why.
    package struct Skipped: Sendable, Hashable, Codable {
        /// The file.
        package var path: String
        /// Why it is not run.
        package var reason: String
    }

    /// Creates a scanner.
    package init() {}

    /// Suffixes left behind by package managers and editors: qemu's fsfreeze-hook list
    /// (`*~ *.bak *.orig *.rpmnew *.rpmorig *.rpmsave *.sample *.dpkg-*`), plus editor swap files and
    /// `*.disabled`. Hidden files are skipped too.
    static let leftoverSuffixes = [
        ".dpkg-old", ".dpkg-new", ".dpkg-tmp", ".dpkg-dist", ".dpkg-bak", ".dpkg-backup", ".dpkg-remove",
        ".rpmnew", ".rpmorig", ".rpmsave", ".sample", "~", ".bak", ".orig", ".swp", ".disabled",
    ]

    /// Scans `directory`. A missing directory yields nothing (drop-ins are optional).
    /// - Returns: the executables to run (absolute paths, byte order) and the skipped files.
    package func scan(_ directory: String) -> (scripts: [String], skipped: [Skipped], error: String?) {
        guard let dir = opendir(directory) else {
            if errno == ENOENT { return ([], [], nil) }
            return ([], [], "cannot read scripts_dir \(directory): \(String(cString: strerror(errno)))")
        }
        defer { closedir(dir) }
        var names: [[UInt8]] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                Array(raw.prefix(while: { $0 != 0 }))
            }
            if name == [0x2E] || name == [0x2E, 0x2E] { continue }
            names.append(name)
        }
        names.sort { $0.lexicographicallyPrecedes($1) }
        var scripts: [String] = []
        var skipped: [Skipped] = []
        for raw in names {
            let name = String(decoding: raw, as: UTF8.self)
            let path = directory.hasSuffix("/") ? directory + name : directory + "/" + name
            if name.hasPrefix(".") {
                skipped.append(Skipped(path: path, reason: "hidden file"))
            } else if let suffix = Self.leftoverSuffixes.first(where: { name.hasSuffix($0) })
                ?? (name.contains(".dpkg-") ? ".dpkg-*" : nil)
            {
                skipped.append(Skipped(path: path, reason: "package-manager or editor leftover (\(suffix))"))
            } else {
                var st = stat()
                if stat(path, &st) != 0 {
                    skipped.append(Skipped(path: path, reason: String(cString: strerror(errno))))
                } else if (st.st_mode & S_IFMT) != S_IFREG {
                    skipped.append(Skipped(path: path, reason: "not a regular file"))
                } else if st.st_mode & 0o111 == 0 {
                    skipped.append(Skipped(path: path, reason: "not executable (chmod +x to enable it)"))
                } else {
                    scripts.append(path)
                }
            }
        }
        return (scripts, skipped, nil)
    }
}
