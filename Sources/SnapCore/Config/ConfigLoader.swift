import Foundation
import SnapSystem

/// Reads a config file from disk and decodes it, turning every I/O problem into a diagnostic.
package struct ConfigLoader: Sendable {
    /// Files larger than this are refused before parsing.
    package static let maxBytes = 4 << 20

    /// Script paths and `scripts_dir` are resolved under this root.
    package var paths: Paths

    /// Creates a loader resolving script paths under `paths` (default: `SNAPORCH_ROOT`).
    package init(paths: Paths = Paths()) { self.paths = paths }

    /// Loads `path`. The config is nil when there are errors.
    package func load(_ path: String) -> (config: Config?, diagnostics: [Diagnostic]) {
        switch Self.readFile(path, limit: Self.maxBytes) {
        case .failure(let message):
            return (nil, [Diagnostic(.error, message.message, file: path)])
        case .success(let bytes):
            var (config, diagnostics) = ConfigDecoder(file: path).decode(bytes)
            // Whoever can change the config can make root run anything: the path rule applies to it
            // on every path that reads it (run, validate, the handler daemon).
            let unsafe = PathSecurity().problems(for: path).map {
                Diagnostic(.error, "unsafe config: \($0)", file: path)
            }
            if !unsafe.isEmpty { config = nil }
            return (config?.resolved(under: paths), unsafe + diagnostics)
        }
    }

    /// Reads a whole regular file of at most `limit` bytes, with an admin-readable failure.
    package static func readFile(_ path: String, limit: Int) -> Result<[UInt8], FileReadError> {
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(path, [.readOnly, .noControllingTerminal, .nonBlocking])
        } catch {
            if error.code == .noSuchFile { return .failure(FileReadError("no such file")) }
            return .failure(FileReadError("cannot open: \(error.reason)"))
        }
        defer { fd.close() }
        let status: FileStatus
        do {
            status = try fd.status()
        } catch {
            return .failure(FileReadError("cannot stat: \(error.reason)"))
        }
        if status.kind == .directory { return .failure(FileReadError("is a directory, not a config file")) }
        if status.kind != .regular { return .failure(FileReadError("is not a regular file")) }
        if status.size > limit {
            return .failure(
                FileReadError("is \(status.size) bytes; configs larger than \(limit >> 20) MiB are refused"))
        }
        var bytes: [UInt8] = []
        while true {
            let chunk: [UInt8]
            do {
                chunk = try fd.read(upTo: 65_536)
            } catch {
                return .failure(FileReadError("read failed: \(error.reason)"))
            }
            if chunk.isEmpty { break }
            bytes += chunk
            if bytes.count > limit { return .failure(FileReadError("grew past \(limit >> 20) MiB while being read")) }
        }
        return .success(bytes)
    }
}

/// Why a file could not be read, in words for an admin.
package struct FileReadError: Error, Sendable, CustomStringConvertible {
    /// The reason.
    package var message: String
    /// Creates an error.
    package init(_ message: String) { self.message = message }
    package var description: String { message }
}
