import CLinux
import Foundation
import Glibc

/// An executable checked by the path rule along its whole interpreter chain, ready to start: the
/// descriptor of the binary that really runs and the argv the kernel would have built for it.
///
/// Safety contract: `fd` is the very file the checks were made on; exec it by descriptor, then close it.
package struct CheckedExecutable: Sendable {
    /// `O_PATH` descriptor of the binary to exec (close-on-exec), owned by this value's holder.
    package let fd: Int32
    /// argv for it: for a `#!` script, `[interpreter, optional argument, script, arguments…]`.
    package let argv: [String]

    /// Closes the descriptor.
    package func close() { Sys.close(fd) }
}

/// Applies the path rule to the interpreter chain of an executable: the `#!` interpreter, the binary an
/// `env` line resolves through the search path (and every search directory before it), and the `#!`
/// line of an interpreter that is itself a script — up to 4 levels, like the kernel.
///
/// For a `#!` script the interpreter is opened checked and executed by descriptor with the script's
/// path as its argument (as the kernel does), so the script keeps its own path as `$0`; the script's
/// path has passed the rule, so nobody but root can change what it names.
package struct InterpreterChain: Sendable {
    /// The rule applied at every level.
    package var rule: PathSecurity
    /// The `PATH` the child gets (where `env` looks).
    package var searchPath: String

    static let maxDepth = 4

    /// Creates a checker.
    package init(rule: PathSecurity, searchPath: String = Paths.scriptSearchPath) {
        self.rule = rule
        self.searchPath = searchPath
    }

    /// Checks and opens `path` and its interpreters; `arguments` are argv[1...] of `path`.
    package func resolve(_ path: String, arguments: [String]) -> Result<CheckedExecutable, PathRefusal> {
        resolve(path, arguments: arguments, depth: 0, origin: path)
    }

    private func resolve(_ path: String, arguments: [String], depth: Int, origin: String)
        -> Result<CheckedExecutable, PathRefusal>
    {
        var argv = [path] + arguments
        var current = path
        var level = depth
        while true {
            let fd: Int32
            switch rule.openChecked(current) {
            case .failure(let refusal):
                return .failure(refusal.prefixed(current == origin ? nil : "interpreter \(current) of \(origin)"))
            case .success(let opened): fd = opened
            }
            var st = stat()
            guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_mode & 0o111 != 0 else {
                Sys.close(fd)
                return .failure(PathRefusal(path: origin, problems: ["\(current) is not an executable regular file"]))
            }
            guard let head = Self.head(fd) else {
                Sys.close(fd)
                return .failure(PathRefusal(path: origin, problems: ["\(current) cannot be read"]))
            }
            guard head.starts(with: [0x23, 0x21]) else { return .success(CheckedExecutable(fd: fd, argv: argv)) }
            Sys.close(fd)
            guard let (interpreter, optional) = Self.shebang(head) else {
                return .failure(PathRefusal(path: origin, problems: ["\(current) has an empty '#!' line"]))
            }
            level += 1
            guard level <= Self.maxDepth else {
                return .failure(
                    PathRefusal(path: origin, problems: ["\(origin): more than 4 nested '#!' interpreters"]))
            }
            if (interpreter as NSString).lastPathComponent == "env", let optional,
                let refusal = envTargetProblem(optional, origin: origin, depth: level)
            {
                return .failure(refusal)
            }
            argv = [interpreter] + (optional.map { [$0] } ?? []) + [current] + argv.dropFirst()
            current = interpreter
        }
    }

    /// The problem with the program an `env` line runs (itself checked along its own chain), if any.
    private func envTargetProblem(_ argument: String, origin: String, depth: Int) -> PathRefusal? {
        guard let command = Self.envCommand(argument) else { return nil }
        let label = "the program '\(command)' that env runs for \(origin)"
        var target: String?
        if command.contains("/") {
            target = command.hasPrefix("/") ? command : "/" + command
        } else {
            for directory in searchPath.split(separator: ":").map(String.init) where directory.hasPrefix("/") {
                var st = stat()
                guard stat(directory, &st) == 0 else { continue }
                // Every directory searched before the hit could hold an impostor.
                let problems = rule.problems(for: directory)
                if !problems.isEmpty {
                    return PathRefusal(path: origin, problems: problems.map { "\(label): search directory \($0)" })
                }
                let candidate = directory + "/" + command
                if stat(candidate, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_mode & 0o111 != 0 {
                    target = candidate
                    break
                }
            }
        }
        guard let target else {
            return PathRefusal(path: origin, problems: ["\(label) is not found on \(searchPath)"])
        }
        switch resolve(target, arguments: [], depth: depth, origin: target) {
        case .success(let exec):
            exec.close()
            return nil
        case .failure(let refusal):
            return refusal.prefixed("interpreter \(target) (\(label))")
        }
    }

    /// The command an `env` argument runs: the first word that is neither an option nor an assignment.
    static func envCommand(_ argument: String) -> String? {
        var words = [argument]
        if argument.hasPrefix("-S") || argument.hasPrefix("--split-string") {
            words = argument.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            words.removeFirst()
            if argument.hasPrefix("-S"), argument.count > 2, !argument.hasPrefix("-S ") {
                words.insert(String(argument.dropFirst(2).prefix { $0 != " " && $0 != "\t" }), at: 0)
            }
        }
        var index = 0
        while index < words.count {
            let word = words[index]
            if ["-u", "--unset", "-C", "--chdir"].contains(word) {
                index += 2
            } else if word.hasPrefix("-") || word.contains("=") {
                index += 1
            } else {
                return word
            }
        }
        return nil
    }

    /// The first bytes of the file open at `fd` (an `O_PATH` descriptor), read through a fresh open.
    static func head(_ fd: Int32) -> [UInt8]? {
        let readable = Glibc.open("/proc/self/fd/\(fd)", O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard readable >= 0 else { return nil }
        defer { Sys.close(readable) }
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = buffer.withUnsafeMutableBytes { read(readable, $0.baseAddress, $0.count) }
        guard n >= 0 else { return nil }
        return Array(buffer[0..<n])
    }

    /// The interpreter and optional argument of a `#!` line (the kernel passes the rest of the line,
    /// trimmed, as one argument).
    static func shebang(_ head: [UInt8]) -> (String, String?)? {
        let line = String(decoding: head.dropFirst(2).prefix { $0 != 0x0A }, as: UTF8.self).trimmingSpaces
        guard let split = line.firstIndex(where: { $0 == " " || $0 == "\t" }) else {
            return line.isEmpty ? nil : (line, nil)
        }
        let rest = String(line[split...]).trimmingSpaces
        return (String(line[..<split]), rest.isEmpty ? nil : rest)
    }
}

extension PathRefusal {
    /// The refusal with `context` before each problem.
    func prefixed(_ context: String?) -> PathRefusal {
        guard let context else { return self }
        return PathRefusal(path: path, problems: problems.map { "\(context): \($0)" })
    }
}
