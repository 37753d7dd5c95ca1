import Foundation
import SnapSystem

/// `mrseq` in the extension directory: the most recent sequence number enable took, as the original
/// extension keeps it. The guest agent's upgrade copies it to the new version, so it tells a
/// version installed in place of the original (or the original after a downgrade) which sequence
/// was already processed by the version before it.
package struct MostRecentSequence: Sendable {
    /// The file.
    package let path: String

    /// The marker of the extension at `directory`.
    package init(directory: String) { self.path = directory + "/mrseq" }

    /// The number it holds; nil when it is missing or not a number.
    package var number: Int? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return Int(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Records `sequence` (atomically); returns why it could not, if it could not.
    package func save(_ sequence: Int) -> String? {
        do {
            try FileSystem.writeAtomically(Array(String(sequence).utf8), to: path, mode: 0o644)
            return nil
        } catch {
            return "cannot write \(path): \(error)"
        }
    }
}
