import Foundation
import SnapSystem

/// Word wrapping for the human summaries: nothing is ever cut, long words are split.
enum TextWrap {
    /// `text` in lines of at most `width` characters, broken at spaces; a word longer than a
    /// line is split across lines. Existing line breaks are kept. Never returns an empty array.
    static func lines(_ text: String, width: Int) -> [String] {
        let width = max(width, 8)
        var out: [String] = []
        for paragraph in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = ""
            for word in paragraph.split(separator: " ", omittingEmptySubsequences: true) {
                var word = Substring(word)
                if !line.isEmpty && line.count + 1 + word.count <= width {
                    line += " " + word
                    continue
                }
                if !line.isEmpty {
                    out.append(line)
                    line = ""
                }
                while word.count > width {
                    out.append(String(word.prefix(width)))
                    word = word.dropFirst(width)
                }
                line = String(word)
            }
            out.append(line)
        }
        return out.isEmpty ? [""] : out
    }

    /// `text` after `prefix`, continuation lines indented to the prefix's width.
    static func hanging(_ prefix: String, _ text: String, width: Int) -> [String] {
        let body = lines(text, width: width - prefix.count)
        let indent = String(repeating: " ", count: prefix.count)
        return body.enumerated().map { index, line in (index == 0 ? prefix : indent) + line }
    }
}
