import Foundation
import SnapSystem

/// One finding about a config, a script or the machine: an error, a warning or a note.
///
/// Rendered the way compilers do, `FILE:LINE:COL: error: message`, so editors can jump to it.
package struct Diagnostic: Sendable, Hashable, Codable {
    /// How serious a finding is. Only errors make a config invalid.
    package enum Severity: String, Sendable, Codable, Comparable {
        case error, warning, note

        private var rank: Int {
            switch self {
            case .error: return 0
            case .warning: return 1
            case .note: return 2
            }
        }

        package static func < (lhs: Self, rhs: Self) -> Bool { lhs.rank < rhs.rank }
    }

    /// How serious it is.
    package var severity: Severity
    /// The file concerned (a config, a script), if any.
    package var file: String?
    /// 1-based line, when known.
    package var line: Int?
    /// 1-based column, when known.
    package var column: Int?
    /// The message, written for an admin.
    package var message: String
    /// The Azure error code the finding corresponds to (legacy configs), if any.
    package var code: ErrorCode?

    /// Creates a finding.
    package init(
        _ severity: Severity, _ message: String, file: String? = nil, at mark: SourceMark? = nil, code: ErrorCode? = nil
    ) {
        self.code = code
        self.severity = severity
        self.message = message
        self.file = file
        self.line = mark?.line
        self.column = mark?.column
    }

    /// `FILE:LINE:COL: severity: message`, leaving out what is unknown.
    package var rendered: String {
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
    package var hasErrors: Bool { contains { $0.severity == .error } }
}
