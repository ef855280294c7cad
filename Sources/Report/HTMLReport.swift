import Scenario

/// `report.html`: one self-contained page (inline CSS and SVG, no scripts, no external assets):
/// the verdict and thresholds first, then the figures over time, the latency distribution and
/// the per-phase, per-agent and barrier tables.
public enum HTMLReport {
    static let palette = ["#2563eb", "#f59e0b", "#dc2626", "#059669", "#7c3aed", "#0891b2", "#db2777", "#65a30d"]

    /// The page for `report`.
    public static func render(_ report: RunReport) -> String {
        var body = header(report)
        body += verdict(report)
        body += figures(report)
        body += thresholds(report)
        body += latencyOverTime(report)
        body += throughputAndConnections(report)
        body += errors(report)
        body += distribution(report)
        body += latencyTable(report)
        body += transport(report)
        body += phases(report)
        body += agents(report)
        body += barriers(report)
        body += "<footer>volley · results schema volley-results/1 · run \(Markup.escape(report.runID)) · \(Markup.escape(report.startedAt))</footer>"
        return """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(Markup.escape(report.scenario)) · \(report.verdict.status.rawValue) · volley</title>
        <style>\(style)</style></head>
        <body><main>\(body)</main></body></html>

        """
    }

    // MARK: Sections

    static func header(_ r: RunReport) -> String {
        var facts: [(String, String)] = [("started", r.startedAt), ("duration", Format.fixed(r.duration, 1) + " s"),
                                         ("model", r.model), ("agents", String(r.agents.count))]
        if !r.targets.isEmpty { facts.append(("target", r.targets.joined(separator: ", "))) }
        if let spread = r.startSpreadMicros { facts.append(("start spread", Format.micros(spread))) }
        let list = facts.map { "<div><dt>\(Markup.escape($0.0))</dt><dd>\(Markup.escape($0.1))</dd></div>" }.joined()
        return """
        <header><div class="brand">volley</div><h1>\(Markup.escape(r.scenario))</h1>
        <div class="file">\(Markup.escape(r.scenarioFile)) · run \(Markup.escape(r.runID))</div>\(r.scenarioDescription.map { "<p class=\"description\">\(Markup.escape($0))</p>" } ?? "")<dl class="facts">\(list)</dl></header>
        """
    }

    static func verdict(_ r: RunReport) -> String {
        let word = r.verdict.status.word
        let failed = r.thresholds.filter { !$0.passed }.count
        var detail = r.thresholds.isEmpty ? "no thresholds" : "\(r.thresholds.count - failed) of \(r.thresholds.count) thresholds held"
        if let reason = r.abortReason { detail += " · stopped early: \(reason)" }
        return """
        <section class="verdict \(r.verdict.status.rawValue)"><div class="word">\(word)</div>
        <div><div class="detail">\(Markup.escape(detail))</div><div class="reason">\(Markup.escape(r.verdict.reason))</div>\(r.verdictWarnings.map { "<div class=\"reason\">warning: \(Markup.escape($0))</div>" }.joined())</div>
        <div class="exit">exit code \(r.verdict.exitCode)</div></section>
        """
    }

    static func figures(_ r: RunReport) -> String {
        let t = r.totals
        let attempted = t.counter("connections.attempted"), opened = t.counter("connections.opened")
        var cards: [(String, String, String)] = [
            ("connections", Format.count(Double(opened)), attempted > 0 ? "\(Format.percent(Double(opened) / Double(attempted))) of \(Format.count(Double(attempted))) attempted" : "none attempted"),
            ("peak open", Format.count(Double(Swift.max(t.gauge("connections.peak"), t.gauge("connections.open")))), "connections at once"),
            ("sent", Format.count(r.sendRate) + "/s", "\(Format.count(Double(t.counter("messages.sent")))) messages"),
            ("received", Format.count(r.receiveRate) + "/s", "\(Format.count(Double(t.counter("messages.received")))) messages"),
            ("error rate", Format.percent(t.errorRate), "\(t.errors) error\(t.errors == 1 ? "" : "s")"),
        ]
        if let main = mainLatency(r), let l = t.latencies[main] {
            cards.append(("p99 \(main)", Format.micros(l.p99), "p50 \(Format.micros(l.p50)) · max \(Format.micros(l.max))"))
        }
        return "<section class=\"cards\">" + cards.map { c in
            "<div class=\"card\"><div class=\"label\">\(Markup.escape(c.0))</div><div class=\"value\">\(Markup.escape(c.1))</div><div class=\"sub\">\(Markup.escape(c.2))</div></div>"
        }.joined() + "</section>"
    }

    static func thresholds(_ r: RunReport) -> String {
        guard !r.thresholds.isEmpty else {
            return section("Thresholds", "<p class=\"empty\">The scenario has no thresholds: the run passes whatever it measured. Add some under <code>thresholds:</code> (docs/scenarios.md).</p>")
        }
        var rows = ""
        for t in r.thresholds {
            var notes: [String] = []
            if t.abortOnFail { notes.append("abort on fail") }
            if t.stoppedRun { notes.append("stopped the run") }
            if t.line > 0 { notes.append("line \(t.line)") }
            if let failed = t.failedSeconds, !failed.isEmpty {
                notes.append("failed in second\(failed.count == 1 ? "" : "s") " + failed.prefix(20).map { String($0 + 1) }.joined(separator: ", ") + (failed.count > 20 ? ", …" : ""))
            }
            rows += "<tr class=\"\(t.passed ? "ok" : "bad")\"><td><span class=\"pill \(t.passed ? "ok" : "bad")\">\(t.passed ? "pass" : "fail")</span></td>"
            rows += "<td class=\"mono\">\(Markup.escape(t.expression))</td><td>\(Markup.escape(t.phase ?? "whole run"))</td>"
            rows += "<td class=\"num\">\(Markup.escape(t.observedText))</td><td class=\"num\">\(Markup.escape("\(t.comparison) \(t.limitText)"))</td>"
            rows += "<td class=\"note\">\(Markup.escape(notes.joined(separator: " · ")))</td></tr>"
        }
        return section("Thresholds", table(["", "threshold", "scope", "observed", "limit", ""], rows))
    }

    static func latencyOverTime(_ r: RunReport) -> String {
        var out = ""
        let bands = phaseBands(r)
        for name in r.latencyNames where name != "barrier_release" {
            let points = r.intervals.compactMap { i -> (Int, RunReport.Latency)? in
                guard let l = i.metrics.latencies[name], l.count > 0 else { return nil }
                return (i.second, l)
            }
            guard !points.isEmpty else { continue }
            let lines = [
                SVGChart.Line(name: "p50", color: palette[0], points: points.map { (Double($0.0) + 1, Double($0.1.p50)) }),
                SVGChart.Line(name: "p90", color: palette[1], points: points.map { (Double($0.0) + 1, Double($0.1.p90)) }),
                SVGChart.Line(name: "p99", color: palette[2], points: points.map { (Double($0.0) + 1, Double($0.1.p99)) }),
                SVGChart.Line(name: "max", color: "#9ca3af", points: points.map { (Double($0.0) + 1, Double($0.1.max)) }, dashed: true),
            ]
            let logarithmic = SVGChart.wantsLogarithmicScale(lines.flatMap { $0.points.map(\.y) })
            out += chart("\(name) latency over time", "percentiles of each second's \(name) samples\(logarithmic ? " (logarithmic scale)" : "")",
                         SVGChart.lines(lines, xFormat: seconds, yFormat: latencyTick, bands: bands,
                                        logarithmicY: logarithmic, maxGap: 1, limits: limits(of: name, in: r)))
        }
        return out.isEmpty ? "" : "<h2>Latency over time</h2>" + out
    }

    static func throughputAndConnections(_ r: RunReport) -> String {
        let bands = phaseBands(r)
        func series(_ counter: String) -> [(x: Double, y: Double)] { r.intervals.map { (Double($0.second) + 1, Double($0.metrics.counter(counter))) } }
        var out = "<h2>Load</h2>"
        out += chart("Throughput", "messages per second",
                     SVGChart.lines([SVGChart.Line(name: "sent/s", color: palette[0], points: series("messages.sent")),
                                     SVGChart.Line(name: "received/s", color: palette[3], points: series("messages.received"), dashed: true)],
                                    xFormat: seconds, yFormat: { Format.count($0) }, bands: bands))
        out += chart("Connections", "open at the end of each second, and opened and closed in it",
                     SVGChart.lines([SVGChart.Line(name: "open", color: palette[4], points: r.intervals.map { (Double($0.second) + 1, Double($0.metrics.gauge("connections.open"))) }),
                                     SVGChart.Line(name: "opened/s", color: palette[5], points: series("connections.opened"), dashed: true),
                                     SVGChart.Line(name: "closed/s", color: "#9ca3af", points: series("connections.closed"), dashed: true)],
                                    xFormat: seconds, yFormat: { Format.count($0) }, bands: bands))
        return out
    }

    static func errors(_ r: RunReport) -> String {
        let classes = r.totals.counters.filter { $0.key.hasPrefix("errors.") && $0.value > 0 }.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }
        guard !classes.isEmpty else { return section("Errors", "<p class=\"good\">No errors: every connection and message went as the scenario expected.</p>") }
        let top = classes.filter { MetricCatalog.isErrorClass($0.key) }.prefix(6)
        let lines = top.enumerated().map { i, c in
            SVGChart.Line(name: String(c.key.dropFirst(7)), color: [palette[2], palette[1], palette[4], palette[6], palette[5], palette[7]][i],
                          points: r.intervals.map { (Double($0.second) + 1, Double($0.metrics.counter(c.key))) })
        }
        var rows = ""
        for c in classes {
            rows += "<tr><td class=\"mono\">\(Markup.escape(String(c.key.dropFirst(7))))</td><td class=\"num\">\(c.value)</td><td>\(Markup.escape(errorMeaning(c.key)))</td></tr>"
        }
        return section("Errors", chart("Errors per second", "by class", SVGChart.lines(lines, xFormat: seconds, yFormat: { Format.count($0) }, bands: phaseBands(r)))
                       + table(["class", "count", "meaning"], rows))
    }

    static func distribution(_ r: RunReport) -> String {
        // Release offsets are per event loop, not per user: the Barriers section shows them.
        let names = r.latencyNames.filter { r.totals.latencies[$0]?.histogram != nil && $0 != "barrier_release" }
        guard !names.isEmpty else { return "" }
        let lines = names.enumerated().map { i, name in
            let h = r.totals.latencies[name]!.histogram!
            // The 100th percentile is drawn where the last sample sits: 1 - 1/count, at most 99.9999 %.
            let last = Swift.min(99.9999, 100 - 100 / Double(Swift.max(h.totalCount, 1)))
            let points = h.percentileDistribution(ticksPerHalfDistance: 5)
                .map { (x: Swift.min($0.percentile, last), y: Double($0.value)) }
            return SVGChart.Line(name: name, color: palette[i % palette.count], points: points)
        }
        let logarithmic = SVGChart.wantsLogarithmicScale(lines.flatMap { $0.points.map(\.y) })
        var out = "<h2>Latency distribution</h2>"
        if let main = mainLatency(r), let h = r.totals.latencies[main]?.histogram {
            let limit = r.thresholds.first { $0.unit == "us" && $0.phase == nil && $0.expression.contains("(\(main))") && $0.comparison.hasPrefix("<") }
            let ranges = LatencyRanges(h)
            let items = ranges.ranges.map { range in
                let over = limit.map { Double(range.lower) >= $0.limit } ?? false
                let share = Format.percent(Double(range.count) / Double(Swift.max(h.totalCount, 1)))
                return (label: latencyTick(Double(range.lower)), value: Double(range.count), color: over ? palette[2] : palette[0],
                        tip: "\(latencyTick(Double(range.lower))) to \(latencyTick(Double(range.upper))): \(range.count) samples (\(share))")
            }
            var subtitle = "samples per range of the whole run"
            if let limit { subtitle += "; red: at or above the threshold \(limit.expression)" }
            out += chart("\(main) histogram", subtitle, SVGChart.columns(items, yFormat: { Format.count($0) }))
        }
        return out + chart("Percentile distribution", "whole run, from the merged HdrHistograms; the x axis stretches the tail\(logarithmic ? ", the y axis is logarithmic" : "")",
                                                       SVGChart.lines(lines, xScale: .percentile, xFormat: { percentileLabel($0) }, yFormat: latencyTick,
                                                                      logarithmicY: logarithmic))
    }

    static func latencyTable(_ r: RunReport) -> String {
        guard !r.latencyNames.isEmpty else { return "" }
        var rows = ""
        for name in r.latencyNames {
            guard let l = r.totals.latencies[name] else { continue }
            rows += "<tr><td class=\"mono\">\(Markup.escape(name))</td><td class=\"num\">\(l.count)</td>"
            for v in [l.min, l.p50, l.p90, l.p95, l.p99, l.p999, l.max] { rows += "<td class=\"num\">\(Format.micros(v))</td>" }
            rows += "<td class=\"num\">\(l.mean.map { Format.micros($0) } ?? "")</td></tr>"
        }
        return section("Latency", table(["metric", "count", "min", "p50", "p90", "p95", "p99", "p99.9", "max", "mean"], rows))
    }

    static func phases(_ r: RunReport) -> String {
        guard !r.phases.isEmpty else { return "" }
        let main = mainLatency(r)
        var rows = ""
        for p in r.phases {
            let c = p.connections.from == p.connections.to ? "\(p.connections.to)" : "\(p.connections.from) → \(p.connections.to)"
            var time = "\(Format.fixed(p.start, 0))–\(Format.fixed(p.start + p.duration, 0)) s"
            if let measured = p.measured, measured < p.duration - 0.5 { time += " (ran \(Format.fixed(measured, 1)) s)" }
            rows += "<tr><td>\(Markup.escape(p.name))</td><td class=\"num\">\(time)</td>"
            rows += "<td class=\"num\">\(c)</td><td>\(Markup.escape(p.rate ?? ""))</td>"
            if let t = p.totals {
                let seconds = Swift.max(p.measured ?? p.duration, 0.001)
                rows += "<td class=\"num\">\(Format.count(Double(t.counter("messages.sent")) / seconds))/s</td>"
                rows += "<td class=\"num\">\(Format.count(Double(t.counter("messages.received")) / seconds))/s</td>"
                rows += "<td class=\"num\">\(t.errors)</td>"
                if let main, let l = t.latencies[main], l.count > 0 {
                    rows += "<td class=\"num\">\(Format.micros(l.p50))</td><td class=\"num\">\(Format.micros(l.p99))</td>"
                } else {
                    rows += "<td></td><td></td>"
                }
            } else {
                rows += "<td></td><td></td><td></td><td></td><td></td>"
            }
            rows += "</tr>"
        }
        let m = main.map { " \($0)" } ?? ""
        return section("Phases", table(["phase", "time", "connections", "rate", "sent", "received", "errors", "p50\(m)", "p99\(m)"], rows))
            + delivery(r) + completeness(r)
    }

    /// Delivery completeness per group: what receivers should have received, did, and missed.
    static func completeness(_ r: RunReport) -> String {
        guard !r.delivery.isEmpty else { return "" }
        var rows = ""
        for g in r.delivery.prefix(50) {
            let share = g.expected > 0 ? Format.percent(Double(g.received) / Double(g.expected)) : ""
            rows += "<tr class=\"\(g.missing > 0 ? "bad" : "")\"><td>\(Markup.escape(g.group))</td><td class=\"num\">\(g.receivers)</td>"
            rows += "<td class=\"num\">\(g.senders)</td><td class=\"num\">\(g.expected)</td><td class=\"num\">\(g.received)</td>"
            rows += "<td class=\"num\">\(share)</td><td class=\"num\">\(g.missing)</td><td class=\"num\">\(g.duplicated)</td></tr>"
        }
        let more = r.delivery.count > 50 ? "<p class=\"note\">\(r.delivery.count - 50) more groups in results.json.</p>" : ""
        return section("Delivery completeness", table(["group", "receivers", "senders", "expected", "received", "", "missing", "duplicated"], rows) + more)
    }

    /// Each phase's delivered load against its plan; phases short by more than allowed in red.
    static func delivery(_ r: RunReport) -> String {
        let compared = r.phases.filter { $0.delivery != nil }
        guard !compared.isEmpty else { return "" }
        var rows = ""
        for p in compared {
            let d = p.delivery!
            rows += "<tr class=\"\(d.passed ? "" : "bad")\"><td>\(Markup.escape(p.name))</td>"
            rows += "<td class=\"num\">\(Format.count(d.plannedConnectionSeconds))</td><td class=\"num\">\(Format.count(d.heldConnectionSeconds))</td>"
            rows += "<td class=\"num\">\(Format.percent(d.connectionShortfall))</td>"
            if let planned = d.plannedMessages, let sent = d.sentMessages, let short = d.messageShortfall {
                rows += "<td class=\"num\">\(Format.count(planned))</td><td class=\"num\">\(sent)</td><td class=\"num\">\(Format.percent(short))</td>"
            } else {
                rows += "<td></td><td></td><td></td>"
            }
            rows += "<td class=\"num\">\(Format.percent(d.allowedShortfall))</td><td>\(d.passed ? "as planned" : "SHORT")</td></tr>"
        }
        var note = ""
        if !r.generatorLimitedSeconds.isEmpty {
            note = "<p class=\"note bad\">The load generator was saturated (a loop at 95% of a core or more, or its scheduled work running over 10 ms late) in seconds "
                + Markup.escape(r.generatorLimitedSeconds.prefix(30).map { String($0 + 1) }.joined(separator: ", "))
                + (r.generatorLimitedSeconds.count > 30 ? ", …" : "") + ": latency measured then may be the generator's own.</p>"
        }
        return section("Delivered load against the plan", table(["phase", "planned connection-s", "held connection-s", "shortfall",
                                                                  "planned messages", "sent", "shortfall", "allowed", ""], rows) + note)
    }

    static func agents(_ r: RunReport) -> String {
        guard !r.agents.isEmpty else { return "" }
        let main = mainLatency(r)
        var rows = ""
        for a in r.agents {
            let t = a.totals
            rows += "<tr class=\"\(a.lostAt == nil ? "" : "bad")\"><td>\(Markup.escape(a.name))</td><td>\(Markup.escape(a.host))</td>"
            rows += "<td class=\"num\">\(t.counter("connections.opened"))</td><td class=\"num\">\(t.counter("messages.sent"))</td><td class=\"num\">\(t.counter("messages.received"))</td><td class=\"num\">\(t.errors)</td>"
            if let main, let l = t.latencies[main], l.count > 0 { rows += "<td class=\"num\">\(Format.micros(l.p99))</td>" } else { rows += "<td></td>" }
            rows += "<td class=\"num\">\(a.clockOffsetMicros.map { Format.fixed($0, 0) + " µs" } ?? "")</td><td class=\"num\">\(a.startOffsetMicros.map { Format.fixed($0, 1) + " µs" } ?? "")</td>"
            rows += "<td>\(a.lostAt.map { "lost at \(Format.fixed($0, 1)) s" + (a.lostReason.map { ": \($0)" } ?? "") }.map(Markup.escape) ?? "ok")</td></tr>"
        }
        return section("Agents", table(["agent", "host", "connections", "sent", "received", "errors", "p99\(main.map { " \($0)" } ?? "")", "clock offset", "start offset", "state"], rows))
    }

    static func barriers(_ r: RunReport) -> String {
        guard !r.barriers.isEmpty else { return "" }
        let shown = r.barriers.prefix(40)
        let byAgents = r.agents.count > 1
        let bars = shown.map { b in
            (label: "\(b.name) #\(b.generation + 1)", value: (byAgents ? b.releaseSpreadMicros : b.loopReleaseSpreadMicros) ?? 0,
             color: b.timedOut ? palette[2] : palette[0])
        }
        var rows = ""
        for b in shown {
            rows += "<tr class=\"\(b.timedOut ? "bad" : "")\"><td>\(Markup.escape(b.name)) #\(b.generation + 1)</td><td class=\"num\">\(b.users)</td>"
            for v in [byAgents ? b.releaseSpreadMicros : nil, b.loopReleaseSpreadMicros, b.sendSpreadMicros, b.slowestLoopSendCostMicros] {
                rows += "<td class=\"num\">\(v.map { Format.micros($0) } ?? "")</td>"
            }
            rows += "<td>\(b.timedOut ? "timed out" : "released")</td></tr>"
        }
        var out = chart("Release spread", "between \(byAgents ? "agents" : "event loops"): how far apart the waiting users were let go",
                        SVGChart.bars(bars, format: { Format.micros($0) }))
        out += table(["barrier", "users", "agents within", "loops within", "sends spread over", "send cost (busiest loop)", ""], rows)
        if r.barriers.count > shown.count { out += "<p class=\"empty\">\(r.barriers.count - shown.count) more in results.json</p>" }
        return section("Barriers", out)
    }

    // MARK: Pieces

    /// Upper limits of the latency thresholds on `metric` (p99(rtt) < 100ms), each across its
    /// phase or the whole run, for the latency chart.
    static func limits(of metric: String, in r: RunReport) -> [SVGChart.Limit] {
        r.thresholds.compactMap { t in
            guard t.unit == "us", t.comparison.hasPrefix("<"), t.expression.contains("(\(metric))") else { return nil }
            let function = t.expression.prefix { $0 != "(" }
            let phase = t.phase.flatMap { name in r.phases.first { $0.name == name } }
            return SVGChart.Limit(value: t.limit, label: "\(function) limit \(latencyTick(t.limit))\(t.phase.map { " [\($0)]" } ?? "")",
                                  from: phase.map(\.start), to: phase.map { $0.start + $0.duration })
        }
    }

    /// The latency the scenario measures itself (not connect), else connect.
    static func mainLatency(_ r: RunReport) -> String? {
        r.latencyNames.first { !MetricCatalog.builtInHistograms.contains($0) } ?? r.latencyNames.first
    }

    static func phaseBands(_ r: RunReport) -> [SVGChart.Band] {
        r.phases.map { SVGChart.Band(start: $0.start, end: $0.start + $0.duration, label: $0.name) }
    }

    /// An axis label for a latency: "500µs", "2ms", "1.5s" (no trailing zeros).
    static func latencyTick(_ us: Double) -> String {
        func trimmed(_ v: Double) -> String {
            var t = Format.fixed(v, 2)
            while t.contains(".") && (t.hasSuffix("0") || t.hasSuffix(".")) { t.removeLast() }
            return t
        }
        if us < 1000 { return trimmed(us) + "µs" }
        if us < 1_000_000 { return trimmed(us / 1000) + "ms" }
        return trimmed(us / 1e6) + "s"
    }

    static func seconds(_ s: Double) -> String { Format.fixed(s, s == s.rounded() ? 0 : 1) + " s" }

    static func percentileLabel(_ p: Double) -> String {
        p == 0 ? "0%" : (p == p.rounded() ? String(Int(p)) : String(p)) + "%"
    }

    static func errorMeaning(_ counter: String) -> String {
        let known: [String: String] = [
            "errors.refused": "the target refused the TCP connection",
            "errors.connect_timeout": "no TCP connection within the connect timeout",
            "errors.connect": "the TCP connection failed",
            "errors.handshake_status": "the WebSocket upgrade was answered with a non-101 status",
            "errors.handshake": "the WebSocket upgrade response was malformed",
            "errors.protocol_violation": "the target sent a frame RFC 6455 forbids; the connection was closed",
            "errors.connection_lost": "the connection dropped without a close handshake",
            "errors.closed_by_server": "the target closed the connection while the user still had steps",
            "errors.expect_timeout": "an expected message did not arrive in time",
            "errors.expect_mismatch": "a message arrived that did not match what was expected",
            "errors.isolation_violation": "a user received a message meant for another",
            "errors.send_failed": "a message could not be written",
            "errors.barrier_timeout": "a barrier released before every user arrived",
            "errors.capture": "a capture found no value in the message its expect matched",
            "errors.handshake_accepted": "the target accepted a connection the scenario expected it to refuse",
            "errors.pong_timeout": "a ping's pong did not arrive in time",
            "errors.tls.verify_failed": "the target's certificate did not verify",
            "errors.tls.handshake": "the TLS handshake failed (no shared version or cipher, a fatal alert, not TLS)",
            "errors.tls.timeout": "the TLS handshake did not complete within the connect timeout",
            "errors.tls.closed": "the target closed the connection during the TLS handshake",
        ]
        if let meaning = known[counter] { return meaning }
        for (prefix, meaning) in known where counter.hasPrefix(prefix + ".") { return meaning + " (\(counter.dropFirst(prefix.count + 1)))" }
        return ""
    }

    static func section(_ title: String, _ content: String) -> String {
        "<section><h2>\(Markup.escape(title))</h2>\(content)</section>"
    }

    static func chart(_ title: String, _ subtitle: String, _ svg: String) -> String {
        "<figure class=\"panel\"><figcaption><b>\(Markup.escape(title))</b><span>\(Markup.escape(subtitle))</span></figcaption>\(svg)</figure>"
    }

    static func table(_ headers: [String], _ rows: String) -> String {
        "<div class=\"tablewrap\"><table><thead><tr>" + headers.map { "<th>\(Markup.escape($0))</th>" }.joined() + "</tr></thead><tbody>\(rows)</tbody></table></div>"
    }

    static let style = """
    :root{--ink:#111827;--muted:#6b7280;--line:#e5e7eb;--bg:#f3f4f6;--ok:#059669;--bad:#dc2626;--warn:#d97706}
    *{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
    main{max-width:1040px;margin:0 auto;padding:24px 20px 40px}
    header{background:#111827;color:#f9fafb;border-radius:10px;padding:18px 22px;margin-bottom:14px}
    header .brand{font-weight:700;letter-spacing:.14em;text-transform:uppercase;font-size:11px;color:#93c5fd}
    header h1{margin:2px 0 0;font-size:24px}header .file{color:#9ca3af;font-size:12px;margin-bottom:10px}
    header .description{margin:-4px 0 10px;color:#d1d5db}
    .facts{display:flex;flex-wrap:wrap;gap:6px 22px;margin:0}.facts div{display:flex;gap:6px}.facts dt{color:#9ca3af}.facts dd{margin:0}
    .verdict{display:flex;align-items:center;gap:18px;border-radius:10px;padding:14px 20px;margin-bottom:14px;color:#fff}
    .verdict.passed{background:var(--ok)}.verdict.failed{background:var(--bad)}.verdict.aborted{background:var(--warn)}
    .verdict .word{font-size:26px;font-weight:800;letter-spacing:.05em}.verdict .detail{font-weight:600}.verdict .reason{opacity:.92;font-size:13px}
    .verdict .exit{margin-left:auto;font-family:ui-monospace,monospace;font-size:12px;background:rgba(0,0,0,.18);padding:3px 8px;border-radius:6px;white-space:nowrap}
    .cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:10px;margin-bottom:14px}
    .card{background:#fff;border:1px solid var(--line);border-radius:10px;padding:10px 14px}
    .card .label{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}.card .value{font-size:22px;font-weight:700}.card .sub{color:var(--muted);font-size:12px}
    section{background:#fff;border:1px solid var(--line);border-radius:10px;padding:14px 18px;margin-bottom:14px}
    section.verdict,section.cards{border:0;padding-left:20px}section.cards{background:none;padding:0}
    h2{font-size:16px;margin:18px 0 8px}section>h2{margin-top:0}
    .panel{background:#fff;border:1px solid var(--line);border-radius:10px;margin:0 0 14px;padding:12px 14px}section .panel{border:0;padding:0}
    figcaption{margin-bottom:4px}figcaption span{color:var(--muted);margin-left:10px;font-size:12px}
    .chart{width:100%;height:auto;display:block}.chart text{font-size:11px;fill:#4b5563}
    .chart .ylabel{text-anchor:end}.chart .xlabel{text-anchor:middle}.chart .barvalue{fill:#111827}
    .chart .grid{stroke:#eef0f3}.chart .axis{stroke:#9ca3af}.chart .band0{fill:#f8fafc}.chart .band1{fill:#eef2ff}
    .chart .bandlabel{fill:#6b7280;font-size:10px;text-transform:uppercase;letter-spacing:.05em}
    .chart .limit{stroke:#dc2626;stroke-width:1.2;stroke-dasharray:6 4}.chart .limitlabel{fill:#dc2626;text-anchor:end;font-size:10px}
    .chart .hover{fill:transparent}.chart .hover:hover{fill:rgba(37,99,235,.08)}
    .legend{display:flex;gap:16px;font-size:12px;color:#374151;margin-top:2px;padding-left:64px}.legend i{display:inline-block;width:12px;height:3px;margin-right:6px;vertical-align:middle;border-radius:2px}
    .tablewrap{overflow-x:auto}table{border-collapse:collapse;width:100%;font-size:13px}
    th{text-align:left;font-weight:600;color:var(--muted);border-bottom:2px solid var(--line);padding:6px 8px;white-space:nowrap}
    td{border-bottom:1px solid var(--line);padding:6px 8px}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
    td.mono,code{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12.5px}td.note{color:var(--muted);font-size:12px}
    tr.bad td{background:#fef2f2}.pill{display:inline-block;min-width:40px;text-align:center;border-radius:999px;font-size:11px;font-weight:700;text-transform:uppercase;padding:1px 8px;color:#fff}
    .pill.ok{background:var(--ok)}.pill.bad{background:var(--bad)}.empty{color:var(--muted)}.good{color:var(--ok);font-weight:600}
    footer{color:var(--muted);font-size:12px;text-align:center;margin-top:18px}
    """
}
