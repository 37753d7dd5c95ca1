import Foundation
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
        var names: [[UInt8]]
        do {
            names = try DirectoryListing.names(in: directory)
        } catch {
            if error.errno == ENOENT { return ([], [], nil) }
            return ([], [], "cannot read scripts_dir \(directory): \(error.reason)")
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
                let info: FileInfo
                do {
                    info = try FileInfo.of(path)
                } catch {
                    skipped.append(Skipped(path: path, reason: error.reason))
                    continue
                }
                if info.kind != .regular {
                    skipped.append(Skipped(path: path, reason: "not a regular file"))
                } else if info.mode & 0o111 == 0 {
                    skipped.append(Skipped(path: path, reason: "not executable (chmod +x to enable it)"))
                } else {
                    scripts.append(path)
                }
            }
        }
        return (scripts, skipped, nil)
    }
}
