/// A strict parser for the YAML subset scenario files use (documented in docs/scenarios.md):
/// block mappings and sequences, flow `[a, b]` and `{k: v}`, plain, single- and double-quoted
/// scalars, `|` literal blocks and comments. Anything else is an error, never a guess.
public struct YAMLParser {
    let file: String
    let lines: [[UInt8]]

    private init(file: String, text: String) {
        self.file = file
        var lines = text.utf8.split(separator: 10, omittingEmptySubsequences: false).map { line -> [UInt8] in
            var l = Array(line)
            if l.last == 13 { l.removeLast() }
            return l
        }
        if lines.last == [] { lines.removeLast() }
        self.lines = lines
    }

    /// Parses a whole document. `file` is only used in error messages.
    public static func parse(_ text: String, file: String) throws(ScenarioError) -> YAMLNode {
        let parser = YAMLParser(file: file, text: text)
        return try parser.parseDocument()
    }

    // MARK: Errors and positions

    func error(_ line: Int, _ column: Int, _ message: String) -> ScenarioError {
        // Columns are counted in characters, not bytes.
        let prefix = line < lines.count ? Array(lines[line].prefix(column)) : []
        let characters = String(decoding: prefix, as: UTF8.self).count
        return ScenarioError(file: file, line: line + 1, column: characters + 1, message: message)
    }

    func describe(_ line: Int, _ column: Int) -> String {
        guard line < lines.count else { return "the end of the file" }
        guard column < lines[line].count else { return "the end of the line" }
        let rest = String(decoding: lines[line][column...], as: UTF8.self)
        return "\"\(rest.count > 30 ? String(rest.prefix(30)) + "…" : rest)\""
    }

    func indentation(of line: Int) throws(ScenarioError) -> Int {
        var n = 0
        for b in lines[line] {
            if b == 32 { n += 1; continue }
            if b == 9 { throw error(line, n, "a tab is used for indentation; YAML indentation must use spaces") }
            break
        }
        return n
    }

    func isBlank(_ line: Int) -> Bool {
        for b in lines[line] {
            if b == 32 || b == 9 { continue }
            return b == UInt8(ascii: "#")
        }
        return true
    }

    /// The next line at or after `line` with content, or nil at the end.
    func nextContentLine(from line: Int) -> Int? {
        var l = line
        while l < lines.count {
            if !isBlank(l) { return l }
            l += 1
        }
        return nil
    }

    func byte(_ line: Int, _ column: Int) -> UInt8? {
        line < lines.count && column < lines[line].count ? lines[line][column] : nil
    }

    /// True when only spaces or a comment remain on the line from `column`.
    func restIsEmpty(_ line: Int, _ column: Int) -> Bool {
        var c = column
        while let b = byte(line, c) {
            if b == 32 || b == 9 { c += 1; continue }
            return b == UInt8(ascii: "#") && (c == 0 || lines[line][c - 1] == 32 || lines[line][c - 1] == 9)
        }
        return true
    }

    func skipSpaces(_ line: Int, _ column: Int) -> Int {
        var c = column
        while let b = byte(line, c), b == 32 || b == 9 { c += 1 }
        return c
    }

    // MARK: Document

    func parseDocument() throws(ScenarioError) -> YAMLNode {
        guard var first = nextContentLine(from: 0) else {
            throw ScenarioError(file: file, line: 1, column: 1, message: "the file is empty; expected a scenario mapping such as \"name: ...\"")
        }
        if String(decoding: lines[first], as: UTF8.self).trimmingCharacters(in: " ") == "---" {
            guard let next = nextContentLine(from: first + 1) else {
                throw error(first, 0, "the document is empty after \"---\"")
            }
            first = next
        }
        let indent = try indentation(of: first)
        let (node, end) = try parseBlockNode(line: first, column: indent, parentIndent: -1)
        if let extra = nextContentLine(from: end) {
            let text = String(decoding: lines[extra], as: UTF8.self).trimmingCharacters(in: " ")
            if text == "---" || text == "..." {
                throw error(extra, try indentation(of: extra), "only one YAML document per file is supported")
            }
            throw error(extra, try indentation(of: extra), "found \(describe(extra, try indentation(of: extra))) after the end of the document; expected nothing (is it indented correctly?)")
        }
        return node
    }

    // MARK: Block nodes

    /// Parses the block node starting at (line, column); returns it and the first line after it.
    func parseBlockNode(line: Int, column: Int, parentIndent: Int) throws(ScenarioError) -> (YAMLNode, Int) {
        guard let b = byte(line, column) else { return (YAMLNode(.null, line: line + 1, column: column + 1), line + 1) }
        if b == UInt8(ascii: "-") && (byte(line, column + 1) == nil || byte(line, column + 1) == 32) {
            return try parseSequence(line: line, indent: column)
        }
        if try isMappingKey(line: line, column: column) {
            return try parseMapping(line: line, indent: column)
        }
        return try parseInlineValue(line: line, column: column, blockIndent: parentIndent)
    }

    /// True when a `key:` starts at (line, column).
    func isMappingKey(line: Int, column: Int) throws(ScenarioError) -> Bool {
        guard let b = byte(line, column) else { return false }
        if b == UInt8(ascii: "[") || b == UInt8(ascii: "{") { return false }
        if b == UInt8(ascii: "\"") || b == UInt8(ascii: "'") {
            let (_, after) = try parseQuoted(line: line, column: column)
            guard after.line == line else { return false }
            let c = skipSpaces(line, after.column)
            return byte(line, c) == UInt8(ascii: ":") && (byte(line, c + 1) == nil || byte(line, c + 1) == 32)
        }
        var c = column
        while let x = byte(line, c) {
            if x == UInt8(ascii: ":") && (byte(line, c + 1) == nil || byte(line, c + 1) == 32 || byte(line, c + 1) == 9) { return true }
            if x == UInt8(ascii: "#") && c > 0 && (lines[line][c - 1] == 32) { return false }
            c += 1
        }
        return false
    }

    func parseMapping(line startLine: Int, indent: Int) throws(ScenarioError) -> (YAMLNode, Int) {
        var entries: [YAMLEntry] = []
        var line = startLine
        var column = indent
        while true {
            // Key.
            let key: String
            var c: Int
            if let q = byte(line, column), q == UInt8(ascii: "\"") || q == UInt8(ascii: "'") {
                let (text, after) = try parseQuoted(line: line, column: column)
                key = text
                c = after.column
            } else {
                c = column
                while let x = byte(line, c), !(x == UInt8(ascii: ":") && (byte(line, c + 1) == nil || byte(line, c + 1) == 32 || byte(line, c + 1) == 9)) {
                    c += 1
                }
                key = String(decoding: lines[line][column..<c], as: UTF8.self).trimmingCharacters(in: " ")
                if let first = key.utf8.first, "&*!|>%@`-?".utf8.contains(first) {
                    throw error(line, column, "a key cannot start with '\(Character(Unicode.Scalar(first)))' here (anchors, aliases, tags and complex keys are not supported)")
                }
                if key.isEmpty { throw error(line, column, "expected a key before ':'") }
            }
            c = skipSpaces(line, c)
            guard byte(line, c) == UInt8(ascii: ":") else {
                throw error(line, c, "expected ':' after the key \"\(key)\", found \(describe(line, c))")
            }
            if entries.contains(where: { $0.key == key }) {
                throw error(line, column, "the key \"\(key)\" appears twice in this mapping")
            }
            let valueColumn = skipSpaces(line, c + 1)
            let value: YAMLNode
            let next: Int
            if restIsEmpty(line, valueColumn) {
                (value, next) = try parseNestedValue(after: line, parentIndent: indent, allowSameIndentSequence: true)
            } else if byte(line, valueColumn) == UInt8(ascii: "|") {
                (value, next) = try parseLiteralBlock(line: line, column: valueColumn, parentIndent: indent)
            } else if byte(line, valueColumn) == UInt8(ascii: ">") {
                throw error(line, valueColumn, "folded scalars (>) are not supported; use a literal block (|) or a quoted string")
            } else {
                if byte(line, valueColumn) == UInt8(ascii: "-") && byte(line, valueColumn + 1) == 32 {
                    throw error(line, valueColumn, "a list cannot start on the same line as its key; put \"- item\" on the next lines")
                }
                if try isMappingKey(line: line, column: valueColumn) && byte(line, valueColumn) != UInt8(ascii: "\"") && byte(line, valueColumn) != UInt8(ascii: "'") {
                    throw error(line, valueColumn, "found another \"key:\" after \"\(key):\" on the same line; put the nested mapping on the next lines, indented, or quote the value")
                }
                (value, next) = try parseInlineValue(line: line, column: valueColumn, blockIndent: indent)
            }
            entries.append(YAMLEntry(key: key, line: line + 1, column: column + 1, value: value))
            // Next key at the same indentation, or the end of the mapping.
            guard let following = nextContentLine(from: next) else { return (YAMLNode(.mapping(entries), line: startLine + 1, column: indent + 1), lines.count) }
            let nextIndent = try indentation(of: following)
            if nextIndent < indent { return (YAMLNode(.mapping(entries), line: startLine + 1, column: indent + 1), following) }
            if nextIndent > indent {
                throw error(following, nextIndent, "unexpected indentation: found \(describe(following, nextIndent)) indented more than the keys of this mapping (column \(indent + 1))")
            }
            if byte(following, nextIndent) == UInt8(ascii: "-") && (byte(following, nextIndent + 1) == nil || byte(following, nextIndent + 1) == 32) {
                return (YAMLNode(.mapping(entries), line: startLine + 1, column: indent + 1), following)
            }
            guard try isMappingKey(line: following, column: nextIndent) else {
                throw error(following, nextIndent, "expected \"key: value\" in this mapping, found \(describe(following, nextIndent))")
            }
            line = following
            column = nextIndent
        }
    }

    /// The value of a key or list item whose line ends after ':' or '-': a nested block on the
    /// following lines, or null.
    func parseNestedValue(after line: Int, parentIndent: Int, allowSameIndentSequence: Bool) throws(ScenarioError) -> (YAMLNode, Int) {
        guard let next = nextContentLine(from: line + 1) else {
            return (YAMLNode(.null, line: line + 1, column: lines[line].count + 1), lines.count)
        }
        let indent = try indentation(of: next)
        if indent > parentIndent {
            return try parseBlockNode(line: next, column: indent, parentIndent: parentIndent)
        }
        if allowSameIndentSequence && indent == parentIndent && byte(next, indent) == UInt8(ascii: "-") &&
            (byte(next, indent + 1) == nil || byte(next, indent + 1) == 32) {
            return try parseSequence(line: next, indent: indent)
        }
        return (YAMLNode(.null, line: line + 1, column: lines[line].count + 1), next)
    }

    func parseSequence(line startLine: Int, indent: Int) throws(ScenarioError) -> (YAMLNode, Int) {
        var items: [YAMLNode] = []
        var line = startLine
        while true {
            let contentColumn = skipSpaces(line, indent + 1)
            let item: YAMLNode
            let next: Int
            if restIsEmpty(line, contentColumn) {
                (item, next) = try parseNestedValue(after: line, parentIndent: indent, allowSameIndentSequence: false)
            } else if byte(line, contentColumn) == UInt8(ascii: "|") {
                (item, next) = try parseLiteralBlock(line: line, column: contentColumn, parentIndent: indent)
            } else {
                (item, next) = try parseBlockNode(line: line, column: contentColumn, parentIndent: indent)
            }
            items.append(item)
            guard let following = nextContentLine(from: next) else { return (YAMLNode(.sequence(items), line: startLine + 1, column: indent + 1), lines.count) }
            let nextIndent = try indentation(of: following)
            if nextIndent < indent { return (YAMLNode(.sequence(items), line: startLine + 1, column: indent + 1), following) }
            let isItem = byte(following, nextIndent) == UInt8(ascii: "-") && (byte(following, nextIndent + 1) == nil || byte(following, nextIndent + 1) == 32)
            if nextIndent == indent && isItem {
                line = following
                continue
            }
            if nextIndent == indent {
                // A key at the sequence's own indentation ends a sequence that was a mapping's value.
                return (YAMLNode(.sequence(items), line: startLine + 1, column: indent + 1), following)
            }
            throw error(following, nextIndent, "unexpected indentation: found \(describe(following, nextIndent)); list items of this list start with \"- \" at column \(indent + 1)")
        }
    }

    // MARK: Literal blocks

    func parseLiteralBlock(line: Int, column: Int, parentIndent: Int) throws(ScenarioError) -> (YAMLNode, Int) {
        var c = column + 1
        var chomp: UInt8 = 0    // 0: clip (one trailing newline), '-': strip, '+': keep
        if let b = byte(line, c), b == UInt8(ascii: "-") || b == UInt8(ascii: "+") {
            chomp = b
            c += 1
        }
        guard restIsEmpty(line, c) else {
            throw error(line, c, "expected the end of the line after '|', found \(describe(line, c)); the block's text starts on the next line")
        }
        var bodyIndent: Int?
        var collected: [String] = []
        var l = line + 1
        while l < lines.count {
            let raw = lines[l]
            let allSpaces = raw.allSatisfy { $0 == 32 }
            if allSpaces {
                collected.append("")
                l += 1
                continue
            }
            let indent = try indentation(of: l)
            if bodyIndent == nil {
                guard indent > parentIndent else { break }
                bodyIndent = indent
            }
            guard indent >= bodyIndent! else { break }
            collected.append(String(decoding: raw[bodyIndent!...], as: UTF8.self))
            l += 1
        }
        // Trailing blank lines belong to the chomping decision, not to the next node.
        var trailingBlank = 0
        while let last = collected.last, last.isEmpty {
            collected.removeLast()
            trailingBlank += 1
        }
        var text = collected.joined(separator: "\n")
        switch chomp {
        case UInt8(ascii: "-"): break
        case UInt8(ascii: "+"): text += String(repeating: "\n", count: trailingBlank + (collected.isEmpty ? 0 : 1))
        default: if !collected.isEmpty { text += "\n" }
        }
        return (YAMLNode(.scalar(text, quoted: true), line: line + 1, column: column + 1), l)
    }
}

extension String {
    /// The string without leading and trailing characters from `set`.
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
