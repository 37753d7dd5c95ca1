import Foundation
import SnapSystem

/// A minimal INI reader for the original extension's config files: `[section]`, `key = value` or
/// `key: value`, `#`/`;` comments. Keys keep their case; values are trimmed.
package struct IniFile: Sendable {
    /// section → key → (value, line).
    package private(set) var sections: [String: [String: (value: String, line: Int)]] = [:]
    /// Lines that are neither a section, a pair nor a comment.
    package private(set) var malformedLines: [Int] = []

    package init(text: String) {
        var section = ""
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = String(raw).trimmingSpaces
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") && line.hasSuffix("]") {
                section = String(line.dropFirst().dropLast()).trimmingSpaces
                continue
            }
            let separator = [line.firstIndex(of: "="), line.firstIndex(of: ":")].compactMap { $0 }.min()
            guard let separator else {
                malformedLines.append(index + 1)
                continue
            }
            let key = String(line[..<separator]).trimmingSpaces
            let value = String(line[line.index(after: separator)...]).trimmingSpaces
            sections[section, default: [:]][key] = (value, index + 1)
        }
    }

    /// The value of `key` in `section` (keys compared case-insensitively, as Python's ConfigParser does).
    package func value(_ section: String, _ key: String) -> (value: String, line: Int)? {
        guard let entries = sections[section] else { return nil }
        return entries.first { $0.key.lowercased() == key.lowercased() }?.value
    }
}
