import Testing
@testable import Scenario

@Suite("YAML subset")
struct YAMLTests {
    func parse(_ text: String) throws(ScenarioError) -> YAMLNode { try YAMLParser.parse(text, file: "t.yaml") }

    func scalar(_ text: String, quoted: Bool = false) -> YAMLNode.Value { .scalar(text, quoted: quoted) }

    /// A compact rendering of a node tree for assertions.
    func render(_ node: YAMLNode) -> String {
        switch node.value {
        case let .scalar(s, q): return q ? "'\(s)'" : s
        case .null: return "~"
        case let .sequence(items): return "[" + items.map(render).joined(separator: ", ") + "]"
        case let .mapping(entries): return "{" + entries.map { "\($0.key): \(render($0.value))" }.joined(separator: ", ") + "}"
        }
    }

    @Test("block mappings, sequences, nesting and comments")
    func blocks() throws {
        let doc = try parse("""
        # a scenario
        name: chat  # trailing comment
        phases:
          - name: warm
            duration: 60s
          - { name: spike, duration: 30s }
        steps:
        - connect
        - send: 'it''s'
        - loop:
            - send: "a\\tb"
        empty:
        """)
        #expect(render(doc) == "{name: chat, phases: [{name: warm, duration: 60s}, {name: spike, duration: 30s}], steps: [connect, {send: 'it's'}, {loop: [{send: 'a\tb'}]}], empty: ~}")
    }

    @Test("flow collections may nest and span lines")
    func flow() throws {
        let doc = try parse("""
        headers: { Authorization: "Bearer {{user.token}}", X-Id: 7 }
        list: [a, "b, c", [1, 2], {k: v}]
        multi: [
          one,   # a comment
          two
        ]
        """)
        #expect(render(doc) == "{headers: {Authorization: 'Bearer {{user.token}}', X-Id: 7}, list: [a, 'b, c', [1, 2], {k: v}], multi: [one, two]}")
    }

    @Test("literal blocks keep newlines; chomping indicators work")
    func literal() throws {
        let doc = try parse("""
        a: |
          line one
            indented
          line three
        b: |-
          no newline
        c: x
        """)
        #expect(render(doc) == "{a: 'line one\n  indented\nline three\n', b: 'no newline', c: x}")
    }

    @Test("values with colons, URLs and quotes")
    func colons() throws {
        let doc = try parse("target: ws://127.0.0.1:8080/rooms/a?x=1\nratio: 10 -> 100\ntime: \"12:30\"")
        #expect(render(doc) == "{target: ws://127.0.0.1:8080/rooms/a?x=1, ratio: 10 -> 100, time: '12:30'}")
    }

    @Test("positions are 1-based line and column of each node")
    func positions() throws {
        let doc = try parse("a:\n  - x\n  - k: v\n    m: n\n")
        guard case let .mapping(entries) = doc.value, case let .sequence(items) = entries[0].value.value,
              case let .mapping(inner) = items[1].value else { Issue.record("shape"); return }
        #expect(items[0].line == 2 && items[0].column == 5)
        #expect(inner[1].key == "m" && inner[1].line == 4 && inner[1].column == 5)
    }

    @Test("errors name the line, the column, what was found and what was expected", arguments: [
        ("a: 1\n\tb: 2\n", 2, 1, "tab"),
        ("a: 1\n   b: 2\n", 2, 4, "unexpected indentation"),
        ("a: [1, 2\nb: 3\n", 2, 1, "opened at line 1, column 4"),
        ("a: [1, 2\n", 1, 4, "never closed"),
        ("a: 'unterminated\n", 1, 4, "not closed"),
        ("a: &anchor 1\n", 1, 4, "anchors"),
        ("a: *ref\n", 1, 4, "anchors"),
        ("a: >\n  folded\n", 1, 4, "folded"),
        ("a: 1\na: 2\n", 2, 1, "appears twice"),
        ("a: b: c\n", 1, 4, "same line"),
        ("a: {x: 1, y 2}\n", 1, 14, "expected ':' after the key \"y 2\""),
        ("- a\nb: c\n", 2, 1, "after the end of the document"),
        ("a: \"\\q\"\n", 1, 5, "unknown escape"),
        ("", 1, 1, "empty"),
        ("a: - b\n", 1, 4, "list cannot start"),
        ("a: [1, 2] extra\n", 1, 11, "expected the end of the line"),
    ])
    func errors(text: String, line: Int, column: Int, message: String) {
        do {
            _ = try parse(text)
            Issue.record("expected an error for \(text.debugDescription)")
        } catch {
            #expect(error.file == "t.yaml")
            #expect(error.line == line && error.column == column, "\(error)")
            #expect(error.message.contains(message), "\(error)")
        }
    }
}
