import Testing
@testable import Scenario

@Suite("Scenario parts: units, templates, matchers, feeders")
struct ScenarioPartsTests {
    @Test("durations", arguments: [("250ms", 250_000_000), ("30s", 30_000_000_000), ("5m", 300_000_000_000), ("1h", 3_600_000_000_000),
                                   ("1.5s", 1_500_000_000), ("1h30m", 5_400_000_000_000), ("2m30s", 150_000_000_000), ("500us", 500_000)])
    func durations(text: String, ns: Int64) {
        #expect(Units.duration(text) == ns)
    }

    @Test("bad durations", arguments: ["", "10", "5 parsecs", "s", "1.2.3s", "-5s"])
    func badDurations(text: String) {
        #expect(Units.duration(text) == nil)
    }

    @Test("rates")
    func rates() {
        #expect(Units.ratePerSecond("10/s") == 10)
        #expect(Units.ratePerSecond("600/m") == 10)
        #expect(Units.ratePerSecond("1/500ms") == 2)
        #expect(Units.ratePerSecond("ten/s") == nil)
    }

    @Test("scaling a profile keeps its shape: every phase's connections in proportion to the new peak")
    func scaling() throws {
        let scenario = try ScenarioLoader.load(source: """
        target: ws://h/
        phases:
          - { name: up, duration: 10s, connections: 0 -> 1000 }
          - { name: spike, duration: 5s, connections: 2500 }
          - { name: soak, duration: 10s, connections: 750, rate: 2/s }
        steps:
          - connect
        """, file: "s.yaml") { (_) throws(ScenarioError) -> Feeder? in nil }
        let scaled = scenario.scaled(toPeakConnections: 12_000)
        #expect(scaled.peakConnections == 12_000)
        #expect(scaled.phases.map(\.connections) == [ConnectionTarget(from: 0, to: 4800), .steady(12_000), .steady(3600)])
        #expect(scaled.phases.map(\.rate) == scenario.phases.map(\.rate))
        #expect(scaled.duration == scenario.duration)
        #expect(scenario.scaled(toPeakConnections: 2500).phases == scenario.phases)
    }

    func render(_ t: Template, _ configure: (inout RenderContext) -> Void = { _ in }) -> String {
        var ctx = RenderContext(seed: 42)
        configure(&ctx)
        return t.renderString(&ctx)
    }

    @Test("templates render every placeholder")
    func templates() throws {
        let t = try Template("{\"vu\":{{vu}},\"seq\":{{seq}},\"i\":{{ iteration }},\"p\":\"{{phase}}\",\"u\":\"{{user.token}}\",\"a\":{{agent}},\"t\":{{now_ms}}}",
                             file: "f", line: 1, column: 1, feederColumns: ["name", "token"])
        let out = render(t) { c in
            c.vu = 7; c.seq = 42; c.iteration = 3; c.phaseName = "spike"; c.row = ["n", "secret"]; c.agent = 2; c.nowMicros = 1_234_567
        }
        #expect(out == "{\"vu\":7,\"seq\":42,\"i\":3,\"p\":\"spike\",\"u\":\"secret\",\"a\":2,\"t\":1234}")
        let random = try Template("{{random(5,9)}} {{random_string(12)}} {{uuid}}", file: "f", line: 1, column: 1, feederColumns: nil)
        let parts = render(random).split(separator: " ")
        #expect((5...9).contains(Int(parts[0])!) && parts[1].count == 12 && parts[2].count == 36)
        #expect(render(try Template("{{seq}}", file: "f", line: 1, column: 1, feederColumns: nil)) { $0.seq = -12 } == "-12")
        #expect(try Template("plain", file: "f", line: 1, column: 1, feederColumns: nil).isConstant)
    }

    func matches(_ m: MessageMatcher, _ text: String, seq: Int64 = 0) -> Bool {
        var ctx = RenderContext(seed: 1)
        ctx.seq = seq
        var scratch: [UInt8] = []
        return Array(text.utf8).withUnsafeBytes { m.matches($0, binary: false, context: &ctx, scratch: &scratch) }
    }

    @Test("JSON field matching compares text, follows dotted paths, and decodes escapes")
    func jsonMatching() throws {
        func field(_ path: String, _ value: String) throws -> MessageMatcher.Condition {
            .jsonField(path: path.split(separator: ".").map { Array($0.utf8) },
                       expected: try Template(value, file: "f", line: 1, column: 1, feederColumns: nil))
        }
        let m = MessageMatcher(conditions: [try field("type", "say"), try field("seq", "{{seq}}")])
        #expect(matches(m, #"{"type":"say","seq":42}"#, seq: 42))
        #expect(matches(m, #"{"seq":"42","type":"say"}"#, seq: 42))
        #expect(!matches(m, #"{"type":"say","seq":43}"#, seq: 42))
        #expect(!matches(m, #"{"type":"shout","seq":42}"#, seq: 42))
        #expect(!matches(m, "not json", seq: 42))
        let nested = MessageMatcher(conditions: [try field("data.kind", "x")])
        #expect(matches(nested, #"{"data":{"kind":"x"}}"#))
        #expect(!matches(nested, #"{"kind":"x"}"#))
        let escaped = MessageMatcher(conditions: [try field("text", "a\"b")])
        #expect(matches(escaped, #"{"text":"a\"b"}"#))
        let exists = MessageMatcher(conditions: [.jsonFieldExists(path: [Array("to".utf8)])])
        #expect(matches(exists, #"{"to":"x"}"#) && !matches(exists, #"{"from":"x"}"#))
    }

    @Test("contains, equals and regex")
    func textMatching() throws {
        let c = MessageMatcher(conditions: [.contains(Template(literal: "needle"))])
        #expect(matches(c, "hay needle hay") && !matches(c, "hay"))
        let e = MessageMatcher(conditions: [.equals(Template(literal: "exact"))])
        #expect(matches(e, "exact") && !matches(e, "exactly"))
        let r = MessageMatcher(conditions: [.regex(try CompiledRegex("^id-[0-9]+$"))])
        #expect(matches(r, "id-123") && !matches(r, "id-x"))
        #expect(matches(MessageMatcher(), "anything"))
    }

    @Test("CSV feeders: quotes, escaped quotes, CRLF; rows must match the header")
    func feeders() throws {
        let f = try Feeder.parse("user,token\r\nalice,\"a,b\"\nbob,\"say \"\"hi\"\"\"\n", file: "u.csv")
        #expect(f.columns == ["user", "token"])
        #expect(f.rows == [["alice", "a,b"], ["bob", "say \"hi\""]])
        #expect(f.row(for: 3) == ["bob", "say \"hi\""])
        #expect(throws: ScenarioError.self) { try Feeder.parse("a,b\n1\n", file: "u.csv") }
        #expect(throws: ScenarioError.self) { try Feeder.parse("a,b\n", file: "u.csv") }
        #expect(throws: ScenarioError.self) { try Feeder.parse("a,a\n1,2\n", file: "u.csv") }
        do { _ = try Feeder.parse("a,b\n1,2\n3\n", file: "u.csv") } catch { #expect(error.line == 3) }
    }

    @Test("slices: phases at a time, ramps, and even shares that add up")
    func slices() throws {
        let s = try ScenarioLoader.load(source: """
        target: ws://h/
        phases:
          - { duration: 10s, connections: 0 -> 100 }
          - { duration: 5s, connections: 7 }
        steps: [connect]
        """, file: "s.yaml") { (_) throws(ScenarioError) -> Feeder? in nil }
        let slice = LoadSlice.whole(s)
        #expect(slice.targetConnections(at: 5_000_000_000, in: s) == 50)
        #expect(slice.targetConnections(at: 12_000_000_000, in: s) == 7)
        #expect(slice.targetConnections(at: 16_000_000_000, in: s) == 0)
        for total in [0, 1, 7, 100, 1001] {
            for parts in 1...7 {
                #expect((0..<parts).map { LoadSlice.evenShare(total, part: $0, of: parts) }.reduce(0, +) == total)
            }
        }
    }
}
