/// The report's TLS and compression section: what securing and compressing the connections
/// cost and saved.
extension HTMLReport {
    static func transport(_ r: RunReport) -> String {
        let t = r.totals
        var rows = ""
        let handshakes = t.counter("tls.handshakes")
        if handshakes > 0 {
            let resumed = t.counter("tls.resumed")
            var detail = "\(Format.count(Double(resumed))) resumed (\(Format.percent(Double(resumed) / Double(handshakes))))"
            if let l = t.latencies["tls_handshake"], l.count > 0 { detail += " · p50 \(Format.micros(l.p50)) · p99 \(Format.micros(l.p99))" }
            let failed = t.counters.filter { $0.key.hasPrefix("errors.tls.") && $0.key.split(separator: ".").count == 3 }.values.reduce(0, +)
            if failed > 0 { detail += " · \(failed) failed" }
            rows += row("TLS handshakes", Format.count(Double(handshakes)), detail)
        }
        let compressed = t.counter("compression.connections")
        if compressed > 0 {
            let opened = t.counter("connections.opened")
            rows += row("permessage-deflate", Format.count(Double(compressed)), "of \(Format.count(Double(opened))) connections opened")
            for direction in ["sent", "received"] {
                let message = t.counter("compression.message_bytes_\(direction)"), wire = t.counter("compression.wire_bytes_\(direction)")
                let ratio = wire > 0 ? Format.fixed(Double(message) / Double(wire), 2) + "×" : "–"
                rows += row("compression, \(direction)", ratio, "\(Format.bytes(message)) of messages as \(Format.bytes(wire)) on the wire")
            }
        }
        guard !rows.isEmpty else { return "" }
        return section("TLS and compression", table(["", "value", "detail"], rows))
    }

    private static func row(_ name: String, _ value: String, _ detail: String) -> String {
        "<tr><td>\(Markup.escape(name))</td><td class=\"num\">\(Markup.escape(value))</td><td>\(Markup.escape(detail))</td></tr>"
    }
}
