import Report
import Scenario
import Stats

/// The end-of-run summary: per latency metric count and percentiles, then rates, connections,
/// errors by class, and delivery completeness.
public enum SummaryTable {
    public static func render(_ results: RunResults) -> String {
        let totals = results.totals
        let seconds = Swift.max(results.duration, 0.001)
        var out = "\n"
        out += "\(results.scenario.name): \(results.status == .completed ? "completed" : "ABORTED\(results.abortReason.map { " (\($0))" } ?? "")") in \(Format.fixed(results.duration, 1)) s"
        if results.agents.count > 1 { out += " on \(results.agents.count) agents" }
        out += "\n\n"
        // Each metric, then its share per group (rtt@viewers) when groups keep them apart.
        let recorded = results.scenario.recordsPerGroup ? results.scenario.recordedMeasureNames : []
        var names = ["connect"] + results.scenario.measureNames.flatMap { m in [m] + recorded.filter { $0.hasPrefix(m + "@") } }
        if totals.histograms[MetricCatalog.tlsHandshake] != nil { names.insert(MetricCatalog.tlsHandshake, at: 1) }
        for extra in ["barrier_release", "barrier_send"] where totals.histograms[extra] != nil { names.append(extra) }
        let width = Swift.max(16, (names.map(\.count).max() ?? 0) + 1)
        out += [Format.left("latency", width), Format.right("count", 10), Format.right("p50", 9), Format.right("p90", 9),
                Format.right("p99", 9), Format.right("p99.9", 9), Format.right("max", 9)].joined(separator: " ") + "\n"
        for name in names {
            guard let h = totals.histograms[name], !h.isEmpty else {
                out += [Format.left(name, width), Format.right("0", 10)].joined(separator: " ") + "\n"
                continue
            }
            let p = h.values(atPercentiles: [50, 90, 99, 99.9])
            out += [Format.left(name, width), Format.right(String(h.totalCount), 10), Format.right(Format.micros(p[0]), 9),
                    Format.right(Format.micros(p[1]), 9), Format.right(Format.micros(p[2]), 9), Format.right(Format.micros(p[3]), 9),
                    Format.right(Format.micros(h.max), 9)].joined(separator: " ") + "\n"
        }
        let sent = totals.counter("messages.sent"), received = totals.counter("messages.received")
        out += "\nmessages     sent \(sent) (\(Format.count(Double(sent) / seconds))/s, \(Format.bytes(totals.counter("bytes.sent")))), "
        out += "received \(received) (\(Format.count(Double(received) / seconds))/s, \(Format.bytes(totals.counter("bytes.received"))))"
        let unanswered = totals.counter("expect.unanswered")
        if unanswered > 0 { out += ", \(unanswered) repl\(unanswered == 1 ? "y" : "ies") still awaited when the users stopped" }
        out += "\n"
        let attempted = totals.counter("connections.attempted"), opened = totals.counter("connections.opened")
        out += "connections  opened \(opened) of \(attempted) attempted"
        if attempted > 0 { out += " (\(Format.percent(Double(opened) / Double(attempted))))" }
        out += ", peak open \(Swift.max(totals.gauge("connections.peak"), totals.gauge("connections.open")))"
        if let last = results.connectionTimeline.last {
            out += "; \(1000 * results.connectionTimeline.count) open after \(Format.fixed(last, 2)) s"
        }
        out += "\n"
        let handshakes = totals.counter("tls.handshakes")
        if handshakes > 0 {
            let resumed = totals.counter("tls.resumed")
            out += "tls          \(handshakes) handshakes, \(resumed) resumed (\(Format.percent(Double(resumed) / Double(handshakes))))\n"
        }
        if results.scenario.compression.deflate {
            let sent = totals.counter("compression.message_bytes_sent"), sentWire = totals.counter("compression.wire_bytes_sent")
            let received = totals.counter("compression.message_bytes_received"), receivedWire = totals.counter("compression.wire_bytes_received")
            func ratio(_ message: Int64, _ wire: Int64) -> String { wire > 0 ? "\(Format.fixed(Double(message) / Double(wire), 1))x" : "-" }
            out += "compression  permessage-deflate on \(totals.counter("compression.connections")) of \(opened) connections; "
            out += "sent \(Format.bytes(sent)) as \(Format.bytes(sentWire)) (\(ratio(sent, sentWire))), "
            out += "received \(Format.bytes(received)) as \(Format.bytes(receivedWire)) (\(ratio(received, receivedWire)))\n"
        }
        if results.scenario.delivery != nil {
            let expected = totals.counter("delivery.expected"), missing = totals.counter("delivery.missing")
            out += "delivery     \(expected - missing) of \(expected) expected received"
            if expected > 0 { out += " (\(Format.percent(Double(expected - missing) / Double(expected))))" }
            out += ", missing \(missing), duplicated \(totals.counter("delivery.duplicated")), out of order \(totals.counter("delivery.out_of_order"))"
            out += " in \(results.delivery.count) group\(results.delivery.count == 1 ? "" : "s")\n"
            for g in results.delivery.filter({ $0.missing > 0 }).sorted(by: { $0.missing > $1.missing }).prefix(5) {
                out += "             group \(g.group): \(g.missing) of \(g.expected) missing (\(g.receivers) receivers, \(g.senders) senders)\n"
            }
            if let order = totals.orderDivergence {
                out += "order        \(order.receivers) receivers saw \(order.orders) distinct order\(order.orders == 1 ? "" : "s"); \(order.divergent) differ from the most common\n"
            }
        }
        let errors = totals.errorsByClass
        if errors.isEmpty {
            out += "errors       none\n"
        } else {
            out += "errors       " + errors.map { "\($0.name) \($0.count)" }.joined(separator: ", ") + "\n"
        }
        if !results.barriers.isEmpty {
            out += "\nbarriers (offsets from the named release instant):\n"
            for b in results.barriers.prefix(20) {
                out += "  \(Format.left("\(b.name) #\(b.generation + 1)", 20)) \(Format.right(String(b.users), 7)) users"
                out += "  \(results.agents.count > 1 ? "agents" : "loops") released within \(Format.micros((results.agents.count > 1 ? b.releaseSpread : b.loopReleaseSpread) / 1000))"
                if let spread = b.sendSpread {
                    out += ", sends spread over \(Format.micros(spread / 1000))"
                    out += " (the sends cost \(Format.micros(b.slowestLoopSendCost / 1000)) on the busiest loop,"
                    out += " \(Format.micros(b.totalSendCost / 1000)) in all)"
                }
                if b.timedOut { out += ", TIMED OUT" }
                out += "\n"
            }
            if results.barriers.count > 20 { out += "  ... \(results.barriers.count - 20) more in results.json\n" }
        }
        if results.agents.count > 1 {
            out += "\nagents:"
            if let spread = results.startSpreadMicros { out += " started within \(Format.micros(spread)) of each other" }
            out += "\n"
            for a in results.agents {
                let t = a.series.total
                out += "  \(Format.left(a.name, 22)) sent \(Format.right(String(t.counter("messages.sent")), 9))  received \(Format.right(String(t.counter("messages.received")), 9))  errors \(t.errorCount)"
                if let lost = a.lostAt { out += "  LOST at \(Format.fixed(lost, 1)) s\(a.lostReason.map { " (\($0))" } ?? "")" }
                out += "\n"
            }
        }
        return out
    }
}
