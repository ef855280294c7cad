import JSON
import Scenario
import Stats

/// The results file (`results.json`): versioned and documented in docs/results.md.
public enum ResultsDocument {
    public static let schema = "volley-results/1"
    static let percentiles: [Double] = [50, 90, 95, 99, 99.9, 99.99]

    /// The whole document, with the thresholds' results and the verdict (evaluated here unless given).
    public static func build(_ results: RunResults, thresholds: [ThresholdResult]? = nil, verdict: Verdict? = nil,
                             extra: [(String, JSONValue)] = []) -> JSONValue {
        let thresholds = thresholds ?? results.evaluateThresholds()
        let verdict = verdict ?? results.verdict(thresholds)
        let totals = results.totals
        let conditions = results.conditions
        var fields: [(key: String, value: JSONValue)] = [
            ("schema", .string(schema)),
            ("run", run(results)),
            ("verdict", .object([("status", .string(verdict.status.rawValue)), ("exit_code", .integer(Int64(verdict.exitCode))),
                                 ("reason", .string(verdict.reason)),
                                 ("failures", .array(conditions.failures.map { .string($0) })),
                                 ("warnings", .array(conditions.warnings.map { .string($0) }))])),
            ("thresholds", .array(thresholds.map { threshold($0, aborting: results.abortingThreshold) })),
            ("phases", phases(results, delivery: conditions)),
            ("generator", .object([
                ("limited_seconds", .array(conditions.generatorLimitedSeconds.map { .integer(Int64($0)) })),
                ("policy", .string(conditions.generatorPolicy.rawValue)),
                ("maximum_loop_cpu", .double(GeneratorHealth.maximumLoopCPU)),
                ("maximum_lag_us", .integer(GeneratorHealth.maximumLagMicros)),
            ])),
            ("totals", metrics(totals, full: true)),
            ("errors", errors(totals)),
            ("intervals", .array(results.series.seconds.map { second in
                var m = metrics(results.series.compact(second))
                if case var .object(f) = m {
                    f.insert(("second", .integer(Int64(second))), at: 0)
                    m = .object(f)
                }
                return m
            })),
            ("agents", .array(results.agents.map(agent))),
            ("barriers", .array(results.barriers.map(barrier))),
            ("delivery", results.scenario.delivery == nil ? .null : delivery(results.delivery, totals: totals)),
            ("order", totals.orderDivergence.map { o in
                JSONValue.object([("receivers", .integer(o.receivers)), ("distinct_orders", .integer(Int64(o.orders))),
                                  ("divergent_receivers", .integer(o.divergent))])
            } ?? .null),
            ("connection_timeline", .array(results.connectionTimeline.enumerated().map { i, t in
                .object([("connections", .integer(Int64(1000 * (i + 1)))), ("seconds", .double((t * 10_000).rounded() / 10_000))])
            })),
        ]
        fields.append(contentsOf: extra.map { (key: $0.0, value: $0.1) })
        return .object(fields)
    }

    static func run(_ r: RunResults) -> JSONValue {
        var f: [(key: String, value: JSONValue)] = [
            ("id", .string(r.runID)),
            ("seed", .integer(Int64(bitPattern: r.seed))),
            ("scenario", .string(r.scenario.name)),
            ("file", .string(r.scenario.file)),
            ("model", .string(r.scenario.model.rawValue)),
            ("targets", .array(r.scenario.targets.map { .string($0.source) })),
            ("started_at", .string(CivilTime.iso8601(epochSeconds: r.startedAt))),
            ("started_at_epoch", .double(r.startedAt)),
            ("duration_seconds", .double((r.duration * 1000).rounded() / 1000)),
            ("status", .string(r.status.rawValue)),
            ("agents", .integer(Int64(r.agents.count))),
        ]
        if let reason = r.abortReason { f.append(("abort_reason", .string(reason))) }
        if let spread = r.startSpreadMicros { f.append(("start_spread_us", .integer(spread))) }
        if let description = r.scenario.description { f.append(("description", .string(description))) }
        // The scenario as written, so the results say exactly what ran (`targets` above is
        // what it ran against, after --target or --connections).
        f.append(("scenario_source", .string(r.scenario.source)))
        return .object(f)
    }

    static func threshold(_ r: ThresholdResult, aborting: ThresholdResult?) -> JSONValue {
        let t = r.threshold
        var f: [(key: String, value: JSONValue)] = [
            ("expression", .string(t.text)),
            ("phase", t.phase.map { .string($0) } ?? .null),
            ("metric", t.quantity.metric.map { .string($0) } ?? .null),
            ("unit", .string(unitName(t.quantity.unit))),
            ("comparison", .string(t.comparison.rawValue)),
            ("limit", .double(t.limit)),
            ("limit_text", .string(ThresholdEvaluator.describe(t.limit, t.quantity.unit))),
            ("observed", r.observed.map { .double($0) } ?? .null),
            ("observed_text", .string(r.observedText)),
            ("passed", .bool(r.passed)),
            ("abort_on_fail", .bool(t.abortOnFail)),
            ("line", .integer(Int64(t.line))),
            ("column", .integer(Int64(t.column))),
        ]
        if let j = r.seconds {
            f.append(("seconds", .object([("required_share", .double(j.required)), ("judged", .integer(Int64(j.judged))),
                                          ("held", .integer(Int64(j.held))),
                                          ("failed_seconds", .array(j.failedSeconds.map { .integer(Int64($0)) }))])))
        }
        if let aborting, aborting.threshold == t {
            f.append(("stopped_run", .object([("observed", aborting.observed.map { .double($0) } ?? .null),
                                              ("observed_text", .string(aborting.observedText))])))
        }
        return .object(f)
    }

    /// The run's errors: their total, the error rate as thresholds define it, and every class
    /// (with breakdowns such as `handshake_status.503`), largest first.
    static func errors(_ totals: MetricSet) -> JSONValue {
        let rate = MetricCatalog.errorRate(errors: totals.errorCount, connectionsAttempted: totals.counter("connections.attempted"),
                                           messagesSent: totals.counter("messages.sent"))
        return .object([
            ("total", .integer(totals.errorCount)),
            ("rate", .double(rate)),
            ("classes", .object(totals.errorsByClass.map { ($0.name, .integer($0.count)) })),
        ])
    }

    /// How results.json names a threshold's unit.
    public static func unitName(_ unit: Threshold.Unit) -> String {
        switch unit {
        case .microseconds: return "us"
        case .count: return "count"
        case .perSecond: return "per_second"
        case .fraction: return "fraction"
        }
    }

    static func phases(_ r: RunResults, delivery conditions: RunConditions) -> JSONValue {
        let s = r.scenario
        var start: Int64 = 0
        return .array(s.phases.map { p in
            defer { start += p.duration }
            var f: [(key: String, value: JSONValue)] = [
                ("name", .string(p.name)),
                ("start_seconds", .double(Double(start) / 1e9)),
                ("duration_seconds", .double(Double(p.duration) / 1e9)),
                ("connections", .object([("from", .integer(Int64(p.connections.from))), ("to", .integer(Int64(p.connections.to)))])),
            ]
            switch p.rate {
            case let .perConnection(r)?: f.append(("rate_per_connection", .double(r)))
            case let .total(r)?: f.append(("rate_total", .double(r)))
            case nil: break
            }
            if let window = PhaseWindow(p.name, in: s) {
                let measured = window.measuredLength(runSeconds: r.duration)
                f.append(("measured_seconds", .double((measured * 1000).rounded() / 1000)))
                f.append(("totals", metrics(r.series.total(seconds: window.seconds), full: false)))
            }
            if let d = conditions.delivery.first(where: { $0.phase == p.name }) {
                f.append(("delivery", delivery(d, allowed: conditions.maxShortfall)))
            }
            return .object(f)
        })
    }

    /// Delivery completeness: the run's totals and each group's (largest shortfall first).
    static func delivery(_ groups: [GroupCompleteness], totals: MetricSet) -> JSONValue {
        func group(_ g: GroupCompleteness) -> JSONValue {
            .object([("group", .string(g.group)), ("receivers", .integer(g.receivers)), ("senders", .integer(g.senders)),
                     ("expected", .integer(g.expected)), ("received", .integer(g.received)), ("missing", .integer(g.missing)),
                     ("duplicated", .integer(g.duplicated))])
        }
        let sorted = groups.sorted { ($0.missing, $1.group) > ($1.missing, $0.group) }
        return .object([
            ("expected", .integer(groups.reduce(0) { $0 + $1.expected })), ("received", .integer(groups.reduce(0) { $0 + $1.received })),
            ("missing", .integer(groups.reduce(0) { $0 + $1.missing })), ("duplicated", .integer(groups.reduce(0) { $0 + $1.duplicated })),
            ("out_of_order", .integer(totals.counter("delivery.out_of_order"))),
            ("groups", .array(sorted.prefix(1000).map(group))),
            ("groups_total", .integer(Int64(groups.count))),
        ])
    }

    /// A phase's delivered load against its plan.
    static func delivery(_ d: PhaseDelivery, allowed: Double) -> JSONValue {
        func r(_ v: Double) -> JSONValue { .double((v * 1000).rounded() / 1000) }
        var f: [(key: String, value: JSONValue)] = [
            ("from_second", .integer(Int64(d.seconds.lowerBound))), ("to_second", .integer(Int64(d.seconds.upperBound))),
            ("planned_connection_seconds", r(d.plannedConnectionSeconds)), ("held_connection_seconds", r(d.heldConnectionSeconds)),
            ("connection_shortfall", .double((d.connectionShortfall * 1e6).rounded() / 1e6)),
        ]
        if let planned = d.plannedMessages, let sent = d.sentMessages, let short = d.messageShortfall {
            f += [("planned_messages", r(planned)), ("sent_messages", .integer(sent)), ("message_shortfall", .double((short * 1e6).rounded() / 1e6))]
        }
        f += [("allowed_shortfall", .double(allowed)), ("passed", .bool(d.shortfall <= allowed + 1e-12))]
        return .object(f)
    }

    /// A metric set: counters, gauges, and histograms (summaries; `full` adds the HDR encoding).
    public static func metrics(_ set: MetricSet, full: Bool) -> JSONValue {
        .object([
            ("counters", .object(set.counters.sorted { $0.key < $1.key }.map { ($0.key, .integer($0.value)) })),
            ("gauges", .object(set.gauges.sorted { $0.key < $1.key }.map { ($0.key, .integer($0.value)) })),
            ("histograms", .object(set.histograms.filter { full || !$0.value.isEmpty }.sorted { $0.key < $1.key }.map { ($0.key, histogram($0.value, full: full)) })),
        ])
    }

    /// An interval's metrics, summarized straight from the compact histograms.
    public static func metrics(_ set: CompactMetricSet) -> JSONValue {
        .object([
            ("counters", .object(set.counters.sorted { $0.key < $1.key }.map { ($0.key, .integer($0.value)) })),
            ("gauges", .object(set.gauges.sorted { $0.key < $1.key }.map { ($0.key, .integer($0.value)) })),
            ("histograms", .object(set.histograms.filter { !$0.value.isEmpty }.sorted { $0.key < $1.key }.map { name, h in
                var f: [(key: String, value: JSONValue)] = [("count", .integer(h.totalCount)), ("min_us", .integer(h.min))]
                for (p, v) in zip(percentiles, h.values(atPercentiles: percentiles)) { f.append(("p\(Format.percentileKey(p))_us", .integer(v))) }
                f.append(("max_us", .integer(h.max)))
                return (name, .object(f))
            })),
        ])
    }

    /// A histogram's summary in microseconds; `full` adds mean, stddev and the V2 encoding.
    public static func histogram(_ h: HDRHistogram, full: Bool) -> JSONValue {
        var f: [(key: String, value: JSONValue)] = [("count", .integer(h.totalCount))]
        guard !h.isEmpty else { return .object(f) }
        f.append(("min_us", .integer(h.min)))
        let values = h.values(atPercentiles: percentiles)
        for (p, v) in zip(percentiles, values) { f.append(("p\(Format.percentileKey(p))_us", .integer(v))) }
        f.append(("max_us", .integer(h.max)))
        if full {
            f.append(("mean_us", .double((h.mean * 10).rounded() / 10)))
            f.append(("stddev_us", .double((h.standardDeviation * 10).rounded() / 10)))
            if h.clampedCount > 0 { f.append(("clamped", .integer(h.clampedCount))) }
            f.append(("hdr", .string(h.encodeV2Base64())))
        }
        return .object(f)
    }

    static func barrier(_ b: BarrierOutcome) -> JSONValue {
        func us(_ ns: Int64?) -> JSONValue { ns.map { .double((Double($0) / 100).rounded() / 10) } ?? .null }
        var f: [(key: String, value: JSONValue)] = [
            ("name", .string(b.name)), ("generation", .integer(Int64(b.generation))), ("users", .integer(Int64(b.users))),
            ("timed_out", .bool(b.timedOut)), ("lead_us", us(b.lead)),
            ("release_spread_us", us(b.releaseSpread)), ("loop_release_spread_us", us(b.loopReleaseSpread)),
            ("send_spread_us", us(b.sendSpread)), ("slowest_loop_send_cost_us", us(b.slowestLoopSendCost)),
            ("total_send_cost_us", us(b.totalSendCost)),
        ]
        f.append(("agents", .array(b.agentReleases.map { .object([("agent", .integer(Int64($0.agent))), ("release_offset_us", us($0.offset))]) })))
        f.append(("loops", .array(b.loops.map { l in
            .object([("agent", .integer(Int64(l.agent))), ("loop", .integer(Int64(l.release.loop))),
                     ("users", .integer(Int64(l.release.users))), ("release_offset_us", us(l.release.releaseOffset)),
                     ("first_send_us", us(l.release.firstSendOffset)), ("last_send_us", us(l.release.lastSendOffset)),
                     ("send_cost_us", us(l.release.sendCost)), ("ready_margin_us", us(l.release.readyMargin))])
        })))
        return .object(f)
    }

    static func agent(_ a: AgentResult) -> JSONValue {
        var f: [(key: String, value: JSONValue)] = [
            ("index", .integer(Int64(a.index))),
            ("name", .string(a.name)),
            ("host", .string(a.host)),
            ("lost", .bool(a.lostAt != nil)),
        ]
        if let lost = a.lostAt { f.append(("lost_at_seconds", .double((lost * 1000).rounded() / 1000))) }
        if let reason = a.lostReason { f.append(("lost_reason", .string(reason))) }
        if let o = a.clockOffset { f.append(("clock_offset_us", .double(Double(o) / 1000))) }
        if let s = a.startOffset { f.append(("start_offset_us", .double((Double(s) / 100).rounded() / 10))) }
        if let rtt = a.clockRoundTrip { f.append(("clock_probe_rtt_us", .double(Double(rtt) / 1000))) }
        if a.controlBytesReceived > 0 {
            f.append(("control_bytes_received", .integer(Int64(a.controlBytesReceived))))
            f.append(("control_bytes_sent", .integer(Int64(a.controlBytesSent))))
        }
        f.append(("totals", metrics(a.series.total, full: true)))
        return .object(f)
    }
}

extension Format {
    /// "50", "99.9", "99.99" as used in metric keys (p99.9 → "99_9").
    public static func percentileKey(_ p: Double) -> String {
        p == p.rounded() ? String(Int(p)) : String(String(p).map { $0 == "." ? "_" : $0 })
    }
}
