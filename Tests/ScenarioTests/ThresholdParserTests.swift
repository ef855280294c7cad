import Testing
@testable import Scenario

@Suite("Threshold expressions")
struct ThresholdParserTests {
    static func scenario(_ thresholds: String) throws(ScenarioError) -> Scenario {
        try ScenarioLoader.load(source: """
        target: ws://127.0.0.1:8080/echo
        phases:
          - { name: warm-up, duration: 10s, connections: 5 }
          - { name: spike, duration: 5s, connections: 50 }
        steps:
          - connect
          - send: hi
          - expect: { contains: hi, measure: rtt }
        thresholds:
        \(thresholds)
        """, file: "t.yaml") { (_) throws(ScenarioError) -> Feeder? in nil }
    }

    static func one(_ expression: String) throws(ScenarioError) -> Threshold {
        try scenario("  - \(expression)").thresholds[0]
    }

    @Test("every kind of quantity, with limits converted to the quantity's unit", arguments: [
        ("p99(rtt) < 100ms", Threshold.Quantity.percentile(99, of: "rtt"), Threshold.Comparison.less, 100_000.0),
        ("p99.9(rtt) <= 1.5s", .percentile(99.9, of: "rtt"), .lessOrEqual, 1_500_000),
        ("p50(connect) < 250us", .percentile(50, of: "connect"), .less, 250),
        ("max(rtt) < 2s", .max("rtt"), .less, 2_000_000),
        ("mean(rtt) < 10ms", .mean("rtt"), .less, 10_000),
        ("error_rate < 1%", .errorRate, .less, 0.01),
        ("error_rate <= 0.005", .errorRate, .lessOrEqual, 0.005),
        ("connect_success > 99%", .connectSuccess, .greater, 0.99),
        ("rate(messages.received) > 1000/s", .rate("messages.received"), .greater, 1000),
        ("rate(rtt) >= 60/m", .rate("rtt"), .greaterOrEqual, 1),
        ("count(rtt) >= 100", .count("rtt"), .greaterOrEqual, 100),
        ("delivery_missing == 0", .count("delivery.missing"), .equal, 0),
        ("errors.expect_timeout == 0", .count("errors.expect_timeout"), .equal, 0),
        ("errors_handshake_status != 0", .count("errors.handshake_status"), .notEqual, 0),
        ("count(errors.handshake_status.503) == 0", .count("errors.handshake_status.503"), .equal, 0),
    ])
    func parses(text: String, quantity: Threshold.Quantity, comparison: Threshold.Comparison, limit: Double) throws {
        let t = try Self.one(text)
        #expect(t.quantity == quantity)
        #expect(t.comparison == comparison)
        #expect(abs(t.limit - limit) < 1e-9)
        #expect(t.text == text && t.phase == nil && !t.abortOnFail)
    }

    @Test("the mapping form scopes a threshold to a phase and can stop the run after a grace period")
    func mappingForm() throws {
        let s = try Self.scenario("""
          - { threshold: "p99(rtt) < 200ms", phase: spike, abort_on_fail: true, grace: 3s }
          - error_rate < 1%
        """)
        #expect(s.thresholds.count == 2)
        #expect(s.thresholds[0].phase == "spike" && s.thresholds[0].abortOnFail && s.thresholds[0].abortGrace == 3_000_000_000)
        #expect(s.thresholds[0].label == "p99(rtt) < 200ms [spike]")
        #expect(s.thresholds[1].phase == nil)
    }

    @Test("mistakes are located at the offending token and say what was expected", arguments: [
        ("p99(rt) < 100ms", 9, "no latency metric named \"rt\" (did you mean rtt?)"),
        ("p99(rtt) < 100", 16, "\"100\" needs a unit"),
        ("p99(rtt) 100ms", 14, "expected a comparison"),
        ("error_rte < 1%", 5, "unknown metric \"error_rte\" (did you mean error_rate?)"),
        ("errors_expct_timeout == 0", 5, "(did you mean errors_expect_timeout?)"),
        ("connect_success > 120%", 23, "expected a percentage"),
        ("p99(messages.sent) < 1s", 9, "\"messages.sent\" is a counter"),
        ("rtt < 10ms", 5, "\"rtt\" is a latency metric: compare one of its figures"),
        ("p99 < 10ms", 5, "\"p99\" needs a metric"),
        ("median(rtt) < 10ms", 5, "unknown function \"median\""),
        ("count(rtt) >= 1.5", 19, "expected a whole number"),
        ("rate(messages.sent) > fast", 27, "expected a rate such as 1000/s"),
        ("p99(rtt) <", 15, "expected a value"),
    ])
    func located(text: String, column: Int, message: String) {
        #expect {
            _ = try Self.one(text)
        } throws: { error in
            guard let e = error as? ScenarioError else { return false }
            return e.line == 10 && e.column == column && e.message.contains(message)
        }
    }

    @Test("an unknown phase is named with a suggestion, at the phase's position")
    func unknownPhase() {
        #expect {
            _ = try Self.scenario("  - { threshold: \"max(rtt) < 1s\", phase: spik }")
        } throws: { error in
            guard let e = error as? ScenarioError else { return false }
            return e.line == 10 && e.column == 42 && e.message.contains("did you mean \"spike\"")
        }
    }
}
