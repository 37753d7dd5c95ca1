import Foundation
import SnapSystem

/// Reads typed values out of YAML nodes and records every problem as a positioned diagnostic.
///
/// It never stops at the first problem: a bad value is reported and the default is kept, so one
/// `validate` shows every mistake in the file.
struct NodeReader {
    let file: String
    private(set) var diagnostics: [Diagnostic] = []

    init(file: String) { self.file = file }

    mutating func error(_ message: String, at node: YAMLNode) {
        diagnostics.append(Diagnostic(.error, message, file: file, at: node.mark))
    }

    mutating func warning(_ message: String, at node: YAMLNode) {
        diagnostics.append(Diagnostic(.warning, message, file: file, at: node.mark))
    }

    /// The pairs of a mapping, after reporting unknown keys; nil (and an error) if `node` is not a mapping.
    mutating func mapping(_ node: YAMLNode, path: String, allowed: [String]) -> [String: YAMLNode]? {
        guard case .mapping(let pairs) = node.kind else {
            let what = path.isEmpty ? "the config" : "'\(path)'"
            error("\(what) must be a mapping, found \(node.shapeName)", at: node)
            return nil
        }
        var result: [String: YAMLNode] = [:]
        for pair in pairs {
            let key = pair.key.scalar ?? ""
            if allowed.contains(key) {
                result[key] = pair.value
            } else {
                let where_ = path.isEmpty ? "at the top level" : "in '\(path)'"
                var message = "unknown key '\(key)' \(where_)"
                if let guess = Spelling.closest(to: key, in: allowed) {
                    message += "; did you mean '\(guess)'?"
                } else {
                    message += " (known keys: \(allowed.joined(separator: ", ")))"
                }
                error(message, at: pair.key)
            }
        }
        return result
    }

    mutating func string(_ node: YAMLNode, key: String) -> String? {
        guard let text = node.scalar, !node.isNull else {
            error("'\(key)' must be a string, found \(node.shapeName)", at: node)
            return nil
        }
        return text
    }

    mutating func strings(_ node: YAMLNode, key: String) -> [String]? {
        if node.isNull { return [] }
        guard case .sequence(let items) = node.kind else {
            error("'\(key)' must be a list of strings, found \(node.shapeName)", at: node)
            return nil
        }
        var result: [String] = []
        for item in items {
            guard let text = item.scalar, !item.isNull else {
                error("every item of '\(key)' must be a string, found \(item.shapeName)", at: item)
                continue
            }
            result.append(text)
        }
        return result
    }

    mutating func bool(_ node: YAMLNode, key: String) -> Bool? {
        guard let text = node.scalar else {
            error("'\(key)' must be true or false, found \(node.shapeName)", at: node)
            return nil
        }
        switch text {
        case "true", "True", "TRUE": return true
        case "false", "False", "FALSE": return false
        case "yes", "Yes", "YES", "on", "On", "ON", "y", "Y":
            error(
                "'\(key)' must be true or false; '\(text)' is a YAML 1.1 boolean we do not guess at: write true",
                at: node)
        case "no", "No", "NO", "off", "Off", "OFF", "n", "N":
            error(
                "'\(key)' must be true or false; '\(text)' is a YAML 1.1 boolean we do not guess at: write false",
                at: node)
        default:
            error("'\(key)' must be true or false, found '\(text)'", at: node)
        }
        return nil
    }

    mutating func int(_ node: YAMLNode, key: String, range: ClosedRange<Int>) -> Int? {
        guard let text = node.scalar, let value = Int(text.trimmingSpaces) else {
            error("'\(key)' must be a whole number, found \(node.scalar.map { "'\($0)'" } ?? node.shapeName)", at: node)
            return nil
        }
        guard range.contains(value) else {
            error("'\(key)' must be between \(range.lowerBound) and \(range.upperBound), found \(value)", at: node)
            return nil
        }
        return value
    }

    /// A duration up to `max`; with `nonZero`, zero is an error (a limit of nothing ends what it
    /// limits at once — someone writing `0` usually means "no limit").
    mutating func duration(_ node: YAMLNode, key: String, max: TimeSpan = .seconds(86_400), nonZero: Bool = false)
        -> TimeSpan?
    {
        guard let text = node.scalar, !node.isNull else {
            error("'\(key)' must be a duration like 30, 30s, 500ms or 2m, found \(node.shapeName)", at: node)
            return nil
        }
        guard let span = TimeSpan(parsing: text) else {
            error("'\(key)': '\(text)' is not a duration (write 30, 30s, 500ms or 2m)", at: node)
            return nil
        }
        guard span <= max else {
            error("'\(key)' must be at most \(max), found \(span)", at: node)
            return nil
        }
        guard !nonZero || !span.isZero else {
            error(
                "'\(key)' must be more than 0, found \(text): it would end at once (leave the key out for the default)",
                at: node)
            return nil
        }
        return span
    }

    mutating func choice<E: RawRepresentable & CaseIterable>(_ node: YAMLNode, key: String, as: E.Type) -> E?
    where E.RawValue == String {
        guard let text = node.scalar, !node.isNull else {
            error(
                "'\(key)' must be one of \(E.allCases.map(\.rawValue).joined(separator: ", ")), found \(node.shapeName)",
                at: node)
            return nil
        }
        if let value = E(rawValue: text) { return value }
        let names = E.allCases.map(\.rawValue)
        var message = "'\(key)': '\(text)' is not one of \(names.joined(separator: ", "))"
        if let guess = Spelling.closest(to: text, in: names) { message += "; did you mean '\(guess)'?" }
        error(message, at: node)
        return nil
    }
}

/// Near-miss suggestions for misspelled keys and values.
package enum Spelling {
    /// The candidate closest to `word` by edit distance, if it is close enough to be a typo.
    package static func closest(to word: String, in candidates: [String]) -> String? {
        let lowered = word.lowercased()
        var best: (String, Int)?
        for candidate in candidates {
            let distance = editDistance(lowered, candidate.lowercased())
            if distance <= max(1, min(3, candidate.count / 3)), best == nil || distance < best!.1 {
                best = (candidate, distance)
            }
        }
        return best?.0
    }

    /// Levenshtein distance (insertions, deletions, substitutions) with adjacent swaps counted as one edit.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var rows = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { rows[i][0] = i }
        for j in 0...b.count { rows[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                rows[i][j] = Swift.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    rows[i][j] = Swift.min(rows[i][j], rows[i - 2][j - 2] + 1)
                }
            }
        }
        return rows[a.count][b.count]
    }
}
