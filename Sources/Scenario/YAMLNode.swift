/// A node of a YAML document, with the 1-based line and column where it starts.
public struct YAMLNode: Equatable, Sendable {
    public enum Value: Equatable, Sendable {
        /// A scalar; `quoted` when it was written in quotes (so "10" is text, not a number).
        case scalar(String, quoted: Bool)
        /// An absent value (`key:` with nothing after it).
        case null
        case sequence([YAMLNode])
        case mapping([YAMLEntry])
    }

    public var value: Value
    public var line: Int
    public var column: Int

    public init(_ value: Value, line: Int, column: Int) {
        self.value = value
        self.line = line
        self.column = column
    }

    /// A short description of the node's kind, for error messages ("a mapping", "the text \"x\"").
    public var kindDescription: String {
        switch value {
        case let .scalar(text, _): return "\"\(text.count > 40 ? String(text.prefix(40)) + "…" : text)\""
        case .null: return "nothing"
        case .sequence: return "a list"
        case .mapping: return "a mapping"
        }
    }
}

/// One `key: value` pair of a mapping.
public struct YAMLEntry: Equatable, Sendable {
    public var key: String
    public var line: Int
    public var column: Int
    public var value: YAMLNode
}

/// A scenario file error: where (file, line, column), what was found and what was expected.
public struct ScenarioError: Error, Equatable, Sendable, CustomStringConvertible {
    public let file: String
    public let line: Int
    public let column: Int
    public let message: String

    public init(file: String, line: Int, column: Int, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    /// "file:line:column: message", the form editors and compilers use.
    public var description: String { "\(file):\(line):\(column): \(message)" }
}
