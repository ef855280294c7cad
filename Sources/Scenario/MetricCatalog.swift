/// The names of what a run measures, as thresholds, reports and results.json spell them.
public enum MetricCatalog {
    /// Every counter an agent records under a fixed name (docs/scenarios.md, "Metrics").
    public static let counters = [
        "connections.attempted", "connections.opened", "connections.closed",
        "messages.sent", "messages.received", "bytes.sent", "bytes.received", "messages.unmatched",
        "errors.refused", "errors.connect_timeout", "errors.connect", "errors.handshake_status", "errors.handshake",
        "errors.protocol_violation", "errors.connection_lost", "errors.closed_by_server",
        "errors.expect_timeout", "errors.expect_mismatch", "errors.isolation_violation", "errors.send_failed",
        "errors.barrier_timeout", "errors.capture",
        "delivery.received", "delivery.duplicated", "delivery.out_of_order", "delivery.missing", "delivery.expected",
        "barrier.releases", "iterations", "expect.unanswered",
        "connections.held_ms", "connections.due_ms", "agent.cpu_ms", "generator.loop_cpu_ms", "generator.limited",
        "tls.handshakes", "tls.resumed",
        "compression.connections", "compression.message_bytes_sent", "compression.wire_bytes_sent",
        "compression.message_bytes_received", "compression.wire_bytes_received",
        "errors.tls.verify_failed", "errors.tls.handshake", "errors.tls.timeout", "errors.tls.closed",
        "handlers.matched", "handlers.replies", "connections.refused_as_expected", "errors.handshake_accepted",
        "pings.sent", "errors.pong_timeout",
    ]

    /// Counters broken down further at run time ("errors.handshake_status.503").
    public static let breakdownPrefixes = ["errors.connect.", "errors.handshake_status.", "errors.protocol_violation.", "delivery.order.",
                                           "generator.loop_cpu_ms.", "errors.tls.verify_failed.", "errors.tls.handshake.", "errors.capture.", "handlers."]

    /// Latency histograms every run may record, besides the scenario's own `measure` names.
    public static let builtInHistograms = ["connect", tlsHandshake, "barrier_release", "barrier_send", generatorLag]

    /// The TLS handshake of wss:// connections (µs), from TCP connected to secured; `connect`
    /// spans the whole opening (TCP, TLS and the upgrade).
    public static let tlsHandshake = "tls_handshake"

    /// How late each agent's loops ran their scheduled work (µs): the generator's own health,
    /// shown apart from the system's latencies.
    public static let generatorLag = "generator_lag"

    /// The histograms `scenario` can record.
    public static func histograms(of scenario: Scenario) -> [String] {
        builtInHistograms + scenario.measureNames + (scenario.recordsPerGroup ? scenario.recordedMeasureNames : [])
    }

    /// True for the counters that sum to a run's errors: one level under `errors.`
    /// (`errors.refused`) or under a family (`errors.tls.verify_failed`), not the breakdowns
    /// (`errors.handshake_status.503`, `errors.tls.verify_failed.certificate_has_expired`).
    public static func isErrorClass(_ name: String) -> Bool {
        guard name.hasPrefix("errors.") else { return false }
        var rest = name.dropFirst("errors.".count)
        for family in errorFamilies where rest.hasPrefix(family) {
            rest = rest.dropFirst(family.count)
            break
        }
        return !rest.isEmpty && !rest.contains(".")
    }

    /// Error classes grouped under a common name (`errors.tls.…`).
    static let errorFamilies = ["tls."]

    /// A breakdown name part from free text (an OpenSSL reason): lower case, words joined by `_`.
    public static func slug(_ text: String) -> String {
        var out = ""
        for c in text.lowercased().unicodeScalars {
            if (c >= "a" && c <= "z") || (c >= "0" && c <= "9") {
                out.unicodeScalars.append(c)
            } else if !out.isEmpty && !out.hasSuffix("_") {
                out += "_"
            }
            if out.count >= 60 { break }
        }
        while out.hasSuffix("_") { out.removeLast() }
        return out.isEmpty ? "other" : out
    }

    /// Failed operations per operation attempted (connection attempts plus messages sent), as
    /// thresholds and comparisons define `error_rate`: 0 with nothing attempted and no errors.
    public static func errorRate(errors: Int64, connectionsAttempted: Int64, messagesSent: Int64) -> Double {
        let operations = Double(connectionsAttempted) + Double(messagesSent)
        if operations <= 0 { return errors > 0 ? 1 : 0 }
        return Swift.max(0, Swift.min(1, Double(errors) / operations))
    }

    /// True when `name` is a counter a run can record.
    public static func isCounter(_ name: String) -> Bool {
        counters.contains(name) || breakdownPrefixes.contains { name.hasPrefix($0) && name.count > $0.count }
    }
}

/// When an agent counts as the bottleneck of its own run in a second (a "generator-limited"
/// second): a loop busy nearly all the time, or scheduled work running late.
public enum GeneratorHealth {
    /// A loop using at least this share of a core.
    public static let maximumLoopCPU = 0.95
    /// Ticks and paced sends running this late at the 99th percentile (µs).
    public static let maximumLagMicros: Int64 = 10_000

    public static func isLimited(busiestLoopCPU: Double, lagP99Micros: Int64) -> Bool {
        busiestLoopCPU >= maximumLoopCPU || lagP99Micros > maximumLagMicros
    }
}
