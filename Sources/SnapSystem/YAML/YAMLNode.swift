/// A position in a source file, 1-based, as shown to admins (`FILE:LINE:COL`).
package struct SourceMark: Sendable, Hashable, Codable, CustomStringConvertible {
    /// 1-based line number.
    package var line: Int
    /// 1-based column number.
    package var column: Int

    /// Creates a mark from 1-based coordinates.
    package init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    package var description: String { "\(line):\(column)" }
}

/// One node of a parsed YAML document: a scalar, a sequence or a mapping, with its position.
///
/// Anchors and aliases are resolved while parsing, so an alias shows up as a copy of the node it
/// names (value semantics keep that cheap).
package struct YAMLNode: Sendable, Hashable {
    /// The shape of a node.
    package enum Kind: Sendable, Hashable {
        /// A scalar; `plain` is false when it was quoted or a block scalar (`|`, `>`).
        case scalar(String, plain: Bool)
        /// A sequence of nodes, in document order.
        case sequence([YAMLNode])
        /// A mapping, as ordered key/value pairs (keys are scalar nodes).
        case mapping([Pair])
    }

    /// One key/value entry of a mapping.
    package struct Pair: Sendable, Hashable {
        /// The key node (always a scalar).
        package var key: YAMLNode
        /// The value node.
        package var value: YAMLNode
    }

    /// What the node holds.
    package var kind: Kind
    /// Where the node starts in the source.
    package var mark: SourceMark

    /// Creates a node.
    package init(_ kind: Kind, at mark: SourceMark) {
        self.kind = kind
        self.mark = mark
    }

    /// The scalar's text, or nil for collections.
    package var scalar: String? {
        if case .scalar(let text, _) = kind { return text }
        return nil
    }

    /// True for an unquoted plain scalar.
    package var isPlainScalar: Bool {
        if case .scalar(_, let plain) = kind { return plain }
        return false
    }

    /// True for a plain `null`, `~` or empty scalar.
    package var isNull: Bool {
        guard case .scalar(let text, let plain) = kind, plain else { return false }
        return text.isEmpty || text == "~" || text == "null" || text == "Null" || text == "NULL"
    }

    /// A short name for the node's shape, used in type errors.
    package var shapeName: String {
        switch kind {
        case .scalar: return isNull ? "null" : "a scalar"
        case .sequence: return "a list"
        case .mapping: return "a mapping"
        }
    }
}
