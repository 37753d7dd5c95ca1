import Glibc

/// Checks that a file can be executed directly: it exists, is a regular file with an exec bit,
/// and starts with an ELF header or a `#!` line whose interpreter exists and is executable.
package enum ExecutableCheck {
    /// Problems that would make exec fail; empty when it would succeed.
    package static func problems(for path: String) -> [String] {
        var st = stat()
        guard stat(path, &st) == 0 else {
            return errno == ENOENT ? ["\(path) does not exist"] : ["\(path): \(String(cString: strerror(errno)))"]
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else { return ["\(path) is not a regular file"] }
        guard st.st_mode & 0o111 != 0 else {
            return ["\(path) is not executable (mode \(PathSecurity.octal(st.st_mode)); chmod 0755 or 0700)"]
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return ["\(path) cannot be read: \(String(cString: strerror(errno)))"] }
        defer { close(fd) }
        var head = [UInt8](repeating: 0, count: 256)
        let n = head.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return ["\(path) is empty"] }
        head = Array(head[0..<n])
        if head.starts(with: [0x7F, 0x45, 0x4C, 0x46]) { return [] }
        guard head.starts(with: [0x23, 0x21]) else {
            return ["\(path) has no '#!' line and is not an ELF binary: exec would fail (add e.g. #!/bin/sh)"]
        }
        guard let interpreter = interpreter(of: head) else {
            return ["\(path) has an empty '#!' line"]
        }
        var ist = stat()
        if stat(interpreter, &ist) != 0 {
            return ["\(path): interpreter \(interpreter) (from its '#!' line) does not exist"]
        }
        if ist.st_mode & 0o111 == 0 || (ist.st_mode & S_IFMT) != S_IFREG {
            return ["\(path): interpreter \(interpreter) (from its '#!' line) is not an executable file"]
        }
        return []
    }

    /// The interpreter path of a `#!` line.
    package static func interpreter(of head: [UInt8]) -> String? {
        let line = head.dropFirst(2).prefix(while: { $0 != 0x0A })
        let text = String(decoding: line, as: UTF8.self).trimmingSpaces
        guard let first = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).first else { return nil }
        return String(first)
    }
}
