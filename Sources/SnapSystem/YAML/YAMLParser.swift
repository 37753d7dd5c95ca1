import CYaml

/// Parses YAML text into a `YAMLNode` tree with libyaml's event API.
///
/// The tree is built iteratively (no recursion), so deep nesting cannot overflow a thread stack;
/// nesting deeper than `maxDepth` and alias expansion beyond `maxNodes` are rejected with a
/// positioned error instead (a "billion laughs" document cannot exhaust memory).
package struct YAMLParser: Sendable {
    /// The deepest nesting accepted.
    package var maxDepth: Int = 64
    /// The most nodes a document may expand to, aliases counted at their full size.
    package var maxNodes: Int = 200_000

    /// Creates a parser with default limits.
    package init() {}

    /// Parses the first document of `bytes`; returns nil for an empty stream.
    /// - Throws: `YAMLError` with the position of the first problem.
    package func parse(_ bytes: [UInt8]) throws(YAMLError) -> YAMLNode? {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else {
            throw YAMLError("libyaml could not initialise", at: SourceMark(line: 1, column: 1))
        }
        defer { yaml_parser_delete(&parser) }
        // libyaml keeps a pointer to the buffer: keep it alive for the whole parse.
        let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(bytes.count, 1))
        defer { buffer.deallocate() }
        _ = buffer.initialize(from: bytes)
        yaml_parser_set_input_string(&parser, buffer.baseAddress, bytes.count)
        var builder = TreeBuilder(maxDepth: maxDepth, maxNodes: maxNodes)
        while true {
            var event = yaml_event_t()
            guard yaml_parser_parse(&parser, &event) == 1 else {
                throw Self.parserError(&parser)
            }
            defer { yaml_event_delete(&event) }
            let mark = SourceMark(
                line: Int(event.start_mark.line) + 1, column: Int(event.start_mark.column) + 1)
            switch event.type {
            case YAML_STREAM_END_EVENT:
                return builder.root
            case YAML_DOCUMENT_START_EVENT:
                if builder.documents >= 1 {
                    throw YAMLError("only one YAML document is allowed (found a second '---')", at: mark)
                }
            case YAML_DOCUMENT_END_EVENT:
                builder.documents += 1
            case YAML_SCALAR_EVENT:
                let scalar = event.data.scalar
                let text = Self.string(scalar.value, length: Int(scalar.length))
                let plain = scalar.style == YAML_PLAIN_SCALAR_STYLE
                try builder.add(YAMLNode(.scalar(text, plain: plain), at: mark), anchor: Self.cString(scalar.anchor))
            case YAML_SEQUENCE_START_EVENT:
                try builder.open(.sequence([]), at: mark, anchor: Self.cString(event.data.sequence_start.anchor))
            case YAML_MAPPING_START_EVENT:
                try builder.open(.mapping([]), at: mark, anchor: Self.cString(event.data.mapping_start.anchor))
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                try builder.close()
            case YAML_ALIAS_EVENT:
                let name = Self.cString(event.data.alias.anchor) ?? ""
                try builder.alias(name, at: mark)
            default:
                break
            }
        }
    }

    private static func parserError(_ parser: inout yaml_parser_t) -> YAMLError {
        let problem = parser.problem.map { String(cString: $0) } ?? "malformed YAML"
        var message = problem
        if let context = parser.context.map({ String(cString: $0) }) {
            message = "\(problem) \(context) (at \(parser.context_mark.line + 1):\(parser.context_mark.column + 1))"
        }
        if problem.contains("tab") || problem.contains("found character that cannot start any token") {
            message += " (YAML indentation must use spaces, not tabs)"
        }
        let mark = SourceMark(line: Int(parser.problem_mark.line) + 1, column: Int(parser.problem_mark.column) + 1)
        return YAMLError(message, at: mark)
    }

    private static func string(_ pointer: UnsafeMutablePointer<UInt8>?, length: Int) -> String {
        guard let pointer, length > 0 else { return "" }
        return String(decoding: UnsafeBufferPointer(start: pointer, count: length), as: UTF8.self)
    }

    private static func cString(_ pointer: UnsafeMutablePointer<UInt8>?) -> String? {
        guard let pointer else { return nil }
        return String(cString: pointer)
    }
}

/// Assembles nodes from parser events with an explicit stack.
private struct TreeBuilder {
    struct Frame {
        var node: YAMLNode
        var anchor: String?
        var pendingKey: YAMLNode?
        var keys: Set<String>
    }

    let maxDepth: Int
    let maxNodes: Int
    var stack: [Frame] = []
    var anchors: [String: (node: YAMLNode, size: Int)] = [:]
    var sizes: [Int] = []
    var root: YAMLNode?
    var documents = 0
    var nodeCount = 0

    init(maxDepth: Int, maxNodes: Int) {
        self.maxDepth = maxDepth
        self.maxNodes = maxNodes
    }

    mutating func open(_ kind: YAMLNode.Kind, at mark: SourceMark, anchor: String?) throws(YAMLError) {
        if stack.count >= maxDepth {
            throw YAMLError("nesting deeper than \(maxDepth) levels is not supported", at: mark)
        }
        try count(1, at: mark)
        stack.append(Frame(node: YAMLNode(kind, at: mark), anchor: anchor, pendingKey: nil, keys: []))
        sizes.append(nodeCount)
    }

    mutating func close() throws(YAMLError) {
        guard let frame = stack.popLast(), let start = sizes.popLast() else { return }
        if frame.pendingKey != nil {
            throw YAMLError("mapping key without a value", at: frame.node.mark)
        }
        if let anchor = frame.anchor {
            anchors[anchor] = (frame.node, nodeCount - start + 1)
        }
        try attach(frame.node)
    }

    mutating func add(_ node: YAMLNode, anchor: String?) throws(YAMLError) {
        try count(1, at: node.mark)
        if let anchor { anchors[anchor] = (node, 1) }
        try attach(node)
    }

    mutating func alias(_ name: String, at mark: SourceMark) throws(YAMLError) {
        guard let target = anchors[name] else {
            throw YAMLError("unknown alias '*\(name)' (no anchor '&\(name)' before it)", at: mark)
        }
        try count(target.size, at: mark)
        var copy = target.node
        copy.mark = mark
        try attach(copy)
    }

    private mutating func count(_ n: Int, at mark: SourceMark) throws(YAMLError) {
        nodeCount += n
        if nodeCount > maxNodes {
            throw YAMLError("document expands to more than \(maxNodes) nodes (alias bomb?)", at: mark)
        }
    }

    private mutating func attach(_ node: YAMLNode) throws(YAMLError) {
        guard var top = stack.popLast() else {
            root = node
            return
        }
        defer { stack.append(top) }
        switch top.node.kind {
        case .sequence(var items):
            top.node.kind = .scalar("", plain: true)  // release the array so the append stays O(1)
            items.append(node)
            top.node.kind = .sequence(items)
        case .mapping(var pairs):
            if let key = top.pendingKey {
                top.node.kind = .scalar("", plain: true)
                pairs.append(YAMLNode.Pair(key: key, value: node))
                top.node.kind = .mapping(pairs)
                top.pendingKey = nil
            } else {
                guard let text = node.scalar else {
                    top.node.kind = .mapping(pairs)
                    throw YAMLError("mapping keys must be plain scalars, found \(node.shapeName)", at: node.mark)
                }
                if top.keys.contains(text) {
                    top.node.kind = .mapping(pairs)
                    throw YAMLError("duplicate key '\(text)'", at: node.mark)
                }
                top.keys.insert(text)
                top.pendingKey = node
            }
        case .scalar:
            break
        }
    }
}
