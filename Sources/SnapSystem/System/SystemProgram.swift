import Glibc

/// The one rule for finding a program the agent runs on its own (the database clients, `runuser`):
/// the first of the fixed system directories that holds it, never the caller's `PATH` — a root
/// process must not run whatever an inherited `PATH` puts first. The program found must pass the
/// ownership rule (`PathSecurity`) along its whole path, or it is refused, not skipped.
///
/// `validate` and `run` both ask here, so that they agree on what will be executed.
package enum SystemProgram {
    /// Where programs are looked for, in this order.
    package static let directories = ["/usr/local/bin", "/usr/bin", "/bin", "/usr/local/sbin", "/usr/sbin"]

    /// Why a program cannot be used.
    package enum LookupError: Error, Sendable, Hashable, CustomStringConvertible {
        /// None of `names` is an executable in `directories`.
        case missing(names: [String])
        /// The first one found breaks the ownership rule.
        case refused(path: String, problem: String)

        /// The sentence for the admin, naming the programs and where they were looked for.
        package var description: String {
            switch self {
            case .missing(let names):
                let places = directories.dropLast().joined(separator: ", ") + " or " + (directories.last ?? "")
                if names.count == 1 { return "\(names[0]) is not installed in \(places)" }
                return "neither \(names.joined(separator: " nor ")) is installed in \(places)"
            case .refused(let path, let problem):
                return "\(path) refused: \(problem)"
            }
        }
    }

    /// The first of `names` (in order of preference) in the first directory that holds one.
    package static func locate(_ names: [String]) -> Result<String, LookupError> {
        for directory in directories {
            for name in names where access("\(directory)/\(name)", X_OK) == 0 {
                let path = "\(directory)/\(name)"
                if let problem = PathSecurity().problems(for: path).first {
                    return .failure(.refused(path: path, problem: problem))
                }
                return .success(path)
            }
        }
        return .failure(.missing(names: names))
    }
}
