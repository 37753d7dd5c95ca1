/// A YAML document that libyaml could not parse, or that breaks one of our structural limits.
package struct YAMLError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Where the problem was found.
    package var mark: SourceMark
    /// What is wrong, in libyaml's words where it has them.
    package var message: String

    /// Creates an error at a position.
    package init(_ message: String, at mark: SourceMark) {
        self.message = message
        self.mark = mark
    }

    package var description: String { "\(mark): \(message)" }
}
