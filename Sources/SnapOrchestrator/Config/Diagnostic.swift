/// One finding about a config, a script or the machine: an error, a warning or a note.
///
/// Rendered the way compilers do, `FILE:LINE:COL: error: message`, so editors can jump to it.
public struct Diagnostic: Sendable, Hashable, Codable {
    /// How serious a finding is. Only errors make a config invalid.
    public enum Severity: String, Sendable, Codable, Comparable {
        case error, warning, note

        private var rank: Int {
            switch self {
            case .error: return 0
            case .warning: return 1
            case .note: return 2
            }
        }

        public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rank < rhs.rank }
    }

    /// How serious it is.
    public var severity: Severity
    /// The file concerned (a config, a script), if any.
    public var file: String?
    /// 1-based line, when known.
    public var line: Int?
    /// 1-based column, when known.
    public var column: Int?
    /// The message, written for an admin.
    public var message: String
    /// The Azure error code the finding corresponds to (legacy configs), if any.
    public var code: Int?

    /// Creates a finding.
    public init(
        _ severity: Severity, _ message: String, file: String? = nil, at mark: SourceMark? = nil, code: Int? = nil
    ) {
        self.code = code
        self.severity = severity
        self.message = message
        self.file = file
        self.line = mark?.line
        self.column = mark?.column
    }

    /// `FILE:LINE:COL: severity: message`, leaving out what is unknown.
    public var rendered: String {
        var prefix = ""
        if let file {
            prefix = file
            if let line {
                prefix += ":\(line)"
                if let column { prefix += ":\(column)" }
            }
            prefix += ": "
        }
        return "\(prefix)\(severity.rawValue): \(message)"
    }
}

extension Array where Element == Diagnostic {
    /// True when any finding is an error.
    public var hasErrors: Bool { contains { $0.severity == .error } }
}
