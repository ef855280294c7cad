import Testing
@testable import JSON

@Suite("JSON")
struct JSONTests {
    @Test("parses every kind of value and writes it back")
    func roundTrip() throws {
        let text = #"{"a":1,"b":[true,false,null],"c":"x\"y\u00e9\ud83d\ude00","d":-2.5e3,"e":{}}"#
        let value = try JSONParser.parse(text)
        #expect(value["a"] == .integer(1))
        #expect(value["c"]?.stringValue == "x\"yé😀")
        #expect(value["d"]?.doubleValue == -2500)
        #expect(try JSONParser.parse(value.serialized()) == value)
        #expect(try JSONParser.parse(value.serialized(indent: 2)) == value)
    }

    @Test("errors carry line and column", arguments: [
        ("{\"a\": }", 1, 7), ("[1,\n 2,\n x]", 3, 2), ("{\"a\" 1}", 1, 6), ("\"unterminated", 1, 1), ("[1] 2", 1, 5), ("01", 1, 2),
    ])
    func errors(text: String, line: Int, column: Int) {
        do {
            _ = try JSONParser.parse(text)
            Issue.record("expected an error for \(text)")
        } catch {
            #expect(error.line == line && error.column == column, "\(error)")
        }
    }

    @Test("nesting is limited instead of overflowing the stack")
    func depth() {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(String(repeating: "[", count: 10_000)) }
    }

    func scan(_ name: String, _ json: String) -> String? {
        Array(json.utf8).withUnsafeBytes { JSONScanner.string(name, in: $0) }
    }

    func integer(_ name: String, _ json: String) -> Int64? {
        Array(json.utf8).withUnsafeBytes { bytes in
            Array(name.utf8).withUnsafeBytes { JSONScanner.integer($0, in: bytes) }
        }
    }

    func equals(_ name: String, _ expected: String, _ json: String) -> Bool {
        Array(json.utf8).withUnsafeBytes { bytes in
            Array(name.utf8).withUnsafeBytes { n in
                Array(expected.utf8).withUnsafeBytes { JSONScanner.field(n, in: bytes, equalsString: $0) }
            }
        }
    }

    @Test("the scanner finds top-level fields only, skipping nested values")
    func scanner() {
        let json = #"{"nested":{"type":"inner"},"list":[{"type":"x"}],"type":"say","seq":42,"esc":"a\"b","t":true}"#
        #expect(scan("type", json) == "say")
        #expect(scan("seq", json) == "42")
        #expect(scan("esc", json) == "a\"b")
        #expect(scan("t", json) == "true")
        #expect(scan("missing", json) == nil)
        #expect(integer("seq", json) == 42)
        #expect(integer("type", json) == nil)
        #expect(equals("type", "say", json))
        #expect(!equals("type", "inner", json))
        #expect(equals("esc", "a\"b", json))
        #expect(integer("n", #"{"n": -17 }"#) == -17)
    }

    @Test("the scanner never crashes on malformed input, and finds nothing in it")
    func scannerRobustness() {
        for text in ["", "{", "{\"a\"", "{\"a\":", "{\"a\":[1,2", "[1]", "{\"a\":\"x", "}}}", "{\"b\":1,,\"a\":1}"] {
            #expect(scan("a", text) == nil, "\(text)")
        }
    }
}
