/// A YAML document that libyaml could not parse, or that breaks one of our structural limits.
public struct YAMLError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Where the problem was found.
    public var mark: SourceMark
    /// What is wrong, in libyaml's words where it has them.
    public var message: String

    /// Creates an error at a position.
    public init(_ message: String, at mark: SourceMark) {
        self.message = message
        self.mark = mark
    }

    public var description: String { "\(mark): \(message)" }
}
