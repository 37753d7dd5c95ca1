import SnapSystem

/// An append-only file of newline-terminated records, written through one descriptor kept open for
/// the whole run: an append is one `write(2)` of one record, whatever the file already holds (O(1)
/// per step), and a durable append adds one `fdatasync(2)` — plus, the first time, an `fsync(2)` of
/// the directory, so that the file itself survives a machine crash.
///
/// Safety contract: a failed append (ENOSPC, EIO, a short write, a failed `fdatasync`) is cut off
/// again (`ftruncate` to the end of the last complete record) and the log refuses every later
/// append, so the file always holds a prefix of the run's history, at worst with a torn last record
/// (a crash in the middle of a write), which readers drop. Never opened through a symlink; mode 0600.
struct JournalLog {
    /// The file.
    let path: String
    private var fd: FileDescriptor?
    /// End of the last complete record.
    private var length: Int64 = 0
    private var directorySynced = false
    /// Why the log takes no more records (it could not be created, or an append failed); nil while it works.
    private(set) var failure: String?

    /// Creates the log at `path`, replacing a file left there (the caller has recovered it first).
    init(creating path: String) {
        self.path = path
        _ = FileSystem.remove(path)
        do {
            let fd = try FileDescriptor.open(path, [.writeOnly, .create, .exclusive, .noFollow, .append], mode: 0o600)
            self.fd = fd
            // The umask may have narrowed the mode; never widen it, but make it exact.
            try fd.setPermissions(0o600)
        } catch {
            failure = "cannot create the run journal \(path): \(error)"
            close()
        }
    }

    /// Appends one record (`line`, newline included); with `durable`, it is on disk when this returns.
    /// - Returns: nil when appended, else why not (the record is then not in the file).
    mutating func append(_ line: [UInt8], durable: Bool) -> String? {
        if let failure { return failure }
        guard let fd else { return "the run journal \(path) is closed" }
        do {
            try fd.writeAll(line)
            if durable {
                try fd.syncData()
                if !directorySynced {
                    try Self.syncDirectory(of: path)
                    directorySynced = true
                }
            }
            length += Int64(line.count)
            return nil
        } catch {
            let reason = "cannot write the run journal \(path): \(error)"
            do {
                try fd.truncate(to: length)
                failure = reason
            } catch {
                failure = reason + "; cutting off the partial record failed: \(error.reason)"
            }
            return reason
        }
    }

    /// Closes the descriptor (the file stays).
    mutating func close() {
        fd?.close()
        fd = nil
        if failure == nil { failure = "the run journal \(path) is closed" }
    }

    /// What a reader finds at a path.
    enum Contents {
        /// No file.
        case absent
        /// The file exists but cannot be read: why.
        case unreadable(String)
        /// The complete (newline-terminated) records, and the bytes after the last newline (a torn
        /// record when not empty).
        case records([ArraySlice<UInt8>], unterminated: ArraySlice<UInt8>, bytes: [UInt8])
    }

    /// Reads the log at `path` (never through a symlink).
    static func read(_ path: String) -> Contents {
        guard (try? FileStatus.of(path, followingSymlinks: false)) != nil else { return .absent }
        let bytes: [UInt8]
        do {
            bytes = try readAll(path)
        } catch {
            return .unreadable("cannot read \(path): \(error)")
        }
        var lines: [ArraySlice<UInt8>] = []
        var start = 0
        for (i, byte) in bytes.enumerated() where byte == 0x0A {
            lines.append(bytes[start..<i])
            start = i + 1
        }
        return .records(lines, unterminated: bytes[start...], bytes: bytes)
    }

    private static func readAll(_ path: String) throws(SystemError) -> [UInt8] {
        let fd = try FileDescriptor.open(path, [.readOnly, .noFollow])
        defer { fd.close() }
        var out: [UInt8] = []
        while true {
            let chunk = try fd.read(upTo: 64 * 1024)
            if chunk.isEmpty { return out }
            out += chunk
        }
    }

    private static func syncDirectory(of path: String) throws(SystemError) {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[..<$0]) } ?? "."
        let fd = try FileDescriptor.open(directory.isEmpty ? "/" : directory, [.readOnly, .directory])
        defer { fd.close() }
        try fd.sync()
    }
}
