/// Inline values: flow mappings `{ a: 1 }`, flow sequences `[a, b]`, quoted and plain scalars.
extension YAMLParser {
    struct Position {
        var line: Int
        var column: Int
    }

    /// A scalar or flow collection starting at (line, column) in block context; nothing but a
    /// comment may follow it on its last line.
    func parseInlineValue(line: Int, column: Int, blockIndent: Int) throws(ScenarioError) -> (YAMLNode, Int) {
        guard let b = byte(line, column) else { return (YAMLNode(.null, line: line + 1, column: column + 1), line + 1) }
        let node: YAMLNode
        let end: Position
        switch b {
        case UInt8(ascii: "["), UInt8(ascii: "{"):
            (node, end) = try parseFlow(Position(line: line, column: column), depth: 0)
        case UInt8(ascii: "\""), UInt8(ascii: "'"):
            let (text, after) = try parseQuoted(line: line, column: column)
            node = YAMLNode(.scalar(text, quoted: true), line: line + 1, column: column + 1)
            end = Position(line: after.line, column: after.column)
        case UInt8(ascii: "&"), UInt8(ascii: "*"):
            throw error(line, column, "YAML anchors and aliases (& and *) are not supported; repeat the value instead")
        case UInt8(ascii: "!"):
            throw error(line, column, "YAML tags (!) are not supported")
        case UInt8(ascii: ">"):
            throw error(line, column, "folded scalars (>) are not supported; use a literal block (|) or a quoted string")
        case UInt8(ascii: "@"), UInt8(ascii: "`"), UInt8(ascii: "%"):
            throw error(line, column, "a plain value cannot start with '\(Character(Unicode.Scalar(b)))'; quote it")
        default:
            var c = column
            while let x = byte(line, c) {
                if x == UInt8(ascii: "#") && c > column && (lines[line][c - 1] == 32 || lines[line][c - 1] == 9) { break }
                if x == UInt8(ascii: ":") && (byte(line, c + 1) == nil || byte(line, c + 1) == 32) {
                    throw error(line, c, "found ': ' inside a plain value; quote the value if it contains \": \"")
                }
                c += 1
            }
            let text = String(decoding: lines[line][column..<c], as: UTF8.self).trimmingCharacters(in: " \t")
            node = YAMLNode(.scalar(text, quoted: false), line: line + 1, column: column + 1)
            end = Position(line: line, column: c)
        }
        guard restIsEmpty(end.line, end.column) else {
            throw error(end.line, skipSpaces(end.line, end.column), "expected the end of the line after the value, found \(describe(end.line, skipSpaces(end.line, end.column)))")
        }
        return (node, end.line + 1)
    }

    /// A quoted scalar on one line; returns its text and the position after the closing quote.
    func parseQuoted(line: Int, column: Int) throws(ScenarioError) -> (String, Position) {
        let quote = lines[line][column]
        var out: [UInt8] = []
        var c = column + 1
        while true {
            guard let b = byte(line, c) else {
                throw error(line, column, "this quoted string is not closed on its line (strings spanning lines are not supported; use a literal block |)")
            }
            if quote == UInt8(ascii: "'") {
                if b == UInt8(ascii: "'") {
                    if byte(line, c + 1) == UInt8(ascii: "'") { out.append(b); c += 2; continue }
                    return (String(decoding: out, as: UTF8.self), Position(line: line, column: c + 1))
                }
                out.append(b)
                c += 1
                continue
            }
            if b == UInt8(ascii: "\"") { return (String(decoding: out, as: UTF8.self), Position(line: line, column: c + 1)) }
            if b != UInt8(ascii: "\\") {
                out.append(b)
                c += 1
                continue
            }
            guard let e = byte(line, c + 1) else { throw error(line, c, "a backslash ends the line inside a double-quoted string") }
            c += 2
            switch e {
            case UInt8(ascii: "n"): out.append(10)
            case UInt8(ascii: "t"): out.append(9)
            case UInt8(ascii: "r"): out.append(13)
            case UInt8(ascii: "0"): out.append(0)
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "u"), UInt8(ascii: "x"):
                let digits = e == UInt8(ascii: "u") ? 4 : 2
                var v: UInt32 = 0
                for i in 0..<digits {
                    guard let h = byte(line, c + i), let d = hexValue(h) else {
                        throw error(line, c - 2, "expected \(digits) hex digits after \\\(Character(Unicode.Scalar(e)))")
                    }
                    v = v << 4 | d
                }
                c += digits
                guard let scalar = Unicode.Scalar(v) else { throw error(line, c - digits - 2, "\\u\(String(v, radix: 16)) is not a valid character") }
                out.append(contentsOf: Array(String(scalar).utf8))
            default:
                throw error(line, c - 2, "unknown escape \\\(Character(Unicode.Scalar(e))) in a double-quoted string")
            }
        }
    }

    func hexValue(_ b: UInt8) -> UInt32? {
        switch b {
        case 48...57: return UInt32(b - 48)
        case 65...70: return UInt32(b - 55)
        case 97...102: return UInt32(b - 87)
        default: return nil
        }
    }

    /// Skips spaces, comments and line ends inside a flow collection.
    func skipFlowSpace(_ p: Position) throws(ScenarioError) -> Position {
        var p = p
        while true {
            guard p.line < lines.count else { return p }
            guard let b = byte(p.line, p.column) else {
                p = Position(line: p.line + 1, column: 0)
                continue
            }
            if b == 32 || b == 9 { p.column += 1; continue }
            if b == UInt8(ascii: "#") && (p.column == 0 || lines[p.line][p.column - 1] == 32 || lines[p.line][p.column - 1] == 9) {
                p = Position(line: p.line + 1, column: 0)
                continue
            }
            return p
        }
    }

    func parseFlow(_ start: Position, depth: Int) throws(ScenarioError) -> (YAMLNode, Position) {
        guard depth < 32 else { throw error(start.line, start.column, "flow collections nested deeper than 32 levels") }
        let open = lines[start.line][start.column]
        let close = open == UInt8(ascii: "[") ? UInt8(ascii: "]") : UInt8(ascii: "}")
        var p = try skipFlowSpace(Position(line: start.line, column: start.column + 1))
        var items: [YAMLNode] = []
        var entries: [YAMLEntry] = []
        if byte(p.line, p.column) == close {
            let node = open == UInt8(ascii: "[") ? YAMLNode.Value.sequence([]) : .mapping([])
            return (YAMLNode(node, line: start.line + 1, column: start.column + 1), Position(line: p.line, column: p.column + 1))
        }
        while true {
            guard p.line < lines.count else {
                throw error(start.line, start.column, "this \(open == UInt8(ascii: "[") ? "[" : "{") is never closed; expected '\(Character(Unicode.Scalar(close)))'")
            }
            if open == UInt8(ascii: "{") {
                let keyStart = p
                let (keyNode, afterKey) = try parseFlowScalar(p, stopAtColon: true)
                guard case let .scalar(key, _) = keyNode.value else { throw error(p.line, p.column, "expected a key") }
                var q = try skipFlowSpace(afterKey)
                guard byte(q.line, q.column) == UInt8(ascii: ":") else {
                    throw error(q.line, q.column, "expected ':' after the key \"\(key)\" in {…}, found \(describe(q.line, q.column))")
                }
                if entries.contains(where: { $0.key == key }) { throw error(keyStart.line, keyStart.column, "the key \"\(key)\" appears twice in this mapping") }
                q = try skipFlowSpace(Position(line: q.line, column: q.column + 1))
                let (value, afterValue) = try parseFlowValue(q, depth: depth, close: close)
                entries.append(YAMLEntry(key: key, line: keyStart.line + 1, column: keyStart.column + 1, value: value))
                p = try skipFlowSpace(afterValue)
            } else {
                let (value, afterValue) = try parseFlowValue(p, depth: depth, close: close)
                items.append(value)
                p = try skipFlowSpace(afterValue)
            }
            guard let b = byte(p.line, p.column) else {
                throw error(start.line, start.column, "this \(open == UInt8(ascii: "[") ? "[" : "{") is never closed; expected '\(Character(Unicode.Scalar(close)))'")
            }
            if b == close {
                let node = open == UInt8(ascii: "[") ? YAMLNode.Value.sequence(items) : .mapping(entries)
                return (YAMLNode(node, line: start.line + 1, column: start.column + 1), Position(line: p.line, column: p.column + 1))
            }
            guard b == UInt8(ascii: ",") else {
                let opened = p.line == start.line ? "" : " to continue the \(open == UInt8(ascii: "[") ? "list" : "mapping") opened at line \(start.line + 1), column \(start.column + 1)"
                throw error(p.line, p.column, "expected ',' or '\(Character(Unicode.Scalar(close)))'\(opened), found \(describe(p.line, p.column))")
            }
            p = try skipFlowSpace(Position(line: p.line, column: p.column + 1))
        }
    }

    func parseFlowValue(_ p: Position, depth: Int, close: UInt8) throws(ScenarioError) -> (YAMLNode, Position) {
        guard let b = byte(p.line, p.column) else { throw error(p.line, p.column, "expected a value") }
        if b == UInt8(ascii: "[") || b == UInt8(ascii: "{") { return try parseFlow(p, depth: depth + 1) }
        if b == UInt8(ascii: ",") || b == close {
            return (YAMLNode(.null, line: p.line + 1, column: p.column + 1), p)
        }
        return try parseFlowScalar(p, stopAtColon: false)
    }

    func parseFlowScalar(_ p: Position, stopAtColon: Bool) throws(ScenarioError) -> (YAMLNode, Position) {
        guard let b = byte(p.line, p.column) else { throw error(p.line, p.column, "expected a value") }
        if b == UInt8(ascii: "\"") || b == UInt8(ascii: "'") {
            let (text, after) = try parseQuoted(line: p.line, column: p.column)
            return (YAMLNode(.scalar(text, quoted: true), line: p.line + 1, column: p.column + 1), after)
        }
        if b == UInt8(ascii: "&") || b == UInt8(ascii: "*") || b == UInt8(ascii: "!") {
            throw error(p.line, p.column, "YAML anchors, aliases and tags are not supported")
        }
        var c = p.column
        while let x = byte(p.line, c) {
            if x == UInt8(ascii: ",") || x == UInt8(ascii: "]") || x == UInt8(ascii: "}") || x == UInt8(ascii: "[") || x == UInt8(ascii: "{") { break }
            if x == UInt8(ascii: ":") && (stopAtColon || byte(p.line, c + 1) == 32 || byte(p.line, c + 1) == nil) { break }
            if x == UInt8(ascii: "#") && c > p.column && lines[p.line][c - 1] == 32 { break }
            c += 1
        }
        let text = String(decoding: lines[p.line][p.column..<c], as: UTF8.self).trimmingCharacters(in: " \t")
        if text.isEmpty { throw error(p.line, p.column, "expected a value, found \(describe(p.line, p.column))") }
        return (YAMLNode(.scalar(text, quoted: false), line: p.line + 1, column: p.column + 1), Position(line: p.line, column: c))
    }
}
