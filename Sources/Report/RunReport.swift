import JSON
import Scenario
import Stats

/// Why a results file could not be read.
public struct ResultsFileError: Error, CustomStringConvertible, Sendable {
    public let file: String
    public let message: String
    public init(file: String, _ message: String) {
        self.file = file
        self.message = message
    }
    public var description: String { "\(file): \(message)" }
}

/// A finished run as results.json records it (docs/results.md): what the HTML report, the JUnit
/// file, `volley compare` and the webhook read, so each works the same on a run just finished
/// and on a file from last week.
public struct RunReport: Sendable {
    /// A histogram's summary in microseconds; `histogram` is the full distribution when the file
    /// carries it (totals do; intervals carry summaries only).
    public struct Latency: Sendable {
        public var count: Int64
        public var min: Int64 = 0, p50: Int64 = 0, p90: Int64 = 0, p95: Int64 = 0, p99: Int64 = 0, p999: Int64 = 0, max: Int64 = 0
        public var mean: Double?
        public var histogram: HDRHistogram?
    }

    /// Counters, gauges and latency summaries of a run, a phase, an interval or an agent.
    public struct Metrics: Sendable {
        public var counters: [String: Int64] = [:]
        public var gauges: [String: Int64] = [:]
        public var latencies: [String: Latency] = [:]

        public func counter(_ name: String) -> Int64 { counters[name] ?? 0 }
        public func gauge(_ name: String) -> Int64 { gauges[name] ?? 0 }

        /// Every first-level `errors.*` counter summed.
        public var errors: Int64 {
            // Saturating: a results file may hold any numbers.
            counters.filter { MetricCatalog.isErrorClass($0.key) }.values.reduce(Int64(0)) { sum, v in
                let (total, overflow) = sum.addingReportingOverflow(v)
                return overflow ? (v > 0 ? Int64.max : Int64.min) : total
            }
        }

        /// Errors per operation (connection attempts plus messages sent), as thresholds define it.
        public var errorRate: Double {
            MetricCatalog.errorRate(errors: errors, connectionsAttempted: counter("connections.attempted"), messagesSent: counter("messages.sent"))
        }
    }

    public struct Interval: Sendable {
        public var second: Int
        public var metrics: Metrics
    }

    public struct Phase: Sendable {
        public var name: String
        public var start: Double
        public var duration: Double
        public var measured: Double?
        public var connections: (from: Int64, to: Int64)
        /// "5/s per connection", "1000/s in all", or nil.
        public var rate: String?
        public var totals: Metrics?
        public var delivery: Delivery?
    }

    /// A phase's load against its plan (results.json `phases[].delivery`).
    public struct Delivery: Sendable {
        public var plannedConnectionSeconds: Double
        public var heldConnectionSeconds: Double
        public var connectionShortfall: Double
        public var plannedMessages: Double?
        public var sentMessages: Int64?
        public var messageShortfall: Double?
        public var allowedShortfall: Double
        public var passed: Bool
    }

    public struct ThresholdRow: Sendable {
        public var expression: String
        public var phase: String?
        public var unit: String
        public var comparison: String
        public var limit: Double
        public var limitText: String
        public var observed: Double?
        public var observedText: String
        public var passed: Bool
        public var abortOnFail: Bool
        public var stoppedRun: Bool
        public var line: Int
        /// Judged per second: the seconds (from 0) it failed in.
        public var failedSeconds: [Int]? = nil
        /// "p99(rtt) < 100ms [spike]".
        public var label: String { phase.map { "\(expression) [\($0)]" } ?? expression }
    }

    public struct Agent: Sendable {
        public var index: Int
        public var name: String
        public var host: String
        public var lostAt: Double?
        public var lostReason: String?
        public var clockOffsetMicros: Double?
        public var startOffsetMicros: Double?
        public var totals: Metrics
    }

    public struct Barrier: Sendable {
        public var name: String
        public var generation: Int
        public var users: Int64
        public var timedOut: Bool
        public var releaseSpreadMicros: Double?
        public var loopReleaseSpreadMicros: Double?
        public var sendSpreadMicros: Double?
        public var slowestLoopSendCostMicros: Double?
    }

    public var runID: String
    public var scenario: String
    public var scenarioFile: String
    public var scenarioDescription: String?
    public var model: String
    public var targets: [String]
    public var startedAt: String
    public var startedAtEpoch: Double
    public var duration: Double
    /// "completed" or "aborted".
    public var status: String
    public var abortReason: String?
    public var startSpreadMicros: Int64?
    public var verdict: Verdict
    /// What besides thresholds failed the run, and what it warns about (results.json `verdict`).
    public var verdictFailures: [String]
    public var verdictWarnings: [String]
    /// Seconds in which an agent's generator was saturated.
    public var generatorLimitedSeconds: [Int]
    /// Delivery completeness per group (with delivery tracking), most missing first.
    public var delivery: [GroupCompleteness]
    public var thresholds: [ThresholdRow]
    public var phases: [Phase]
    public var totals: Metrics
    public var intervals: [Interval]
    public var agents: [Agent]
    public var barriers: [Barrier]

    /// Latency metric names in a stable order: connect first, then the others by name (the
    /// generator's own lag is not a latency of the system under test).
    public var latencyNames: [String] {
        totals.latencies.filter { $0.value.count > 0 && $0.key != MetricCatalog.generatorLag }.keys.sorted { ($0 == "connect" ? "" : $0) < ($1 == "connect" ? "" : $1) }
    }

    /// Messages received per second over the run.
    public var receiveRate: Double { duration > 0 ? Double(totals.counter("messages.received")) / duration : 0 }
    public var sendRate: Double { duration > 0 ? Double(totals.counter("messages.sent")) / duration : 0 }

    /// Reads results.json text; `file` names it in errors.
    public static func load(text: String, file: String) throws(ResultsFileError) -> RunReport {
        let json: JSONValue
        do { json = try JSONParser.parse(text, maximumDepth: 64) } catch { throw ResultsFileError(file: file, "not JSON: \(error)") }
        return try RunReport(json: json, file: file)
    }

    /// Reads a parsed results document.
    public init(json: JSONValue, file: String) throws(ResultsFileError) {
        guard let schema = json["schema"]?.stringValue else {
            throw ResultsFileError(file: file, "no \"schema\" field: not a volley results file")
        }
        guard schema.hasPrefix("volley-results/") else {
            throw ResultsFileError(file: file, "schema \"\(schema)\" is not a volley results schema (expected volley-results/1)")
        }
        guard schema == "volley-results/1" else {
            throw ResultsFileError(file: file, "schema \"\(schema)\" is newer than this volley reads (volley-results/1); use a newer volley")
        }
        guard let run = json["run"], run.objectValue != nil else { throw ResultsFileError(file: file, "no \"run\" object") }
        guard let totals = json["totals"], totals.objectValue != nil else { throw ResultsFileError(file: file, "no \"totals\" object") }
        runID = run["id"]?.stringValue ?? ""
        scenario = run["scenario"]?.stringValue ?? "unnamed"
        scenarioFile = run["file"]?.stringValue ?? ""
        scenarioDescription = run["description"]?.stringValue
        model = run["model"]?.stringValue ?? ""
        targets = run["targets"]?.arrayValue?.compactMap(\.stringValue) ?? []
        startedAt = run["started_at"]?.stringValue ?? ""
        startedAtEpoch = run["started_at_epoch"]?.doubleValue ?? 0
        duration = run["duration_seconds"]?.doubleValue ?? 0
        status = run["status"]?.stringValue ?? "completed"
        abortReason = run["abort_reason"]?.stringValue
        startSpreadMicros = run["start_spread_us"]?.intValue
        if let v = json["verdict"], let s = v["status"]?.stringValue, let status = Verdict.Status(rawValue: s) {
            verdict = Verdict(status: status, reason: v["reason"]?.stringValue ?? s)
        } else {
            verdict = Verdict(status: status == "aborted" ? .aborted : .passed, reason: "no verdict recorded")
        }
        verdictFailures = json["verdict"]?["failures"]?.arrayValue?.compactMap(\.stringValue) ?? []
        verdictWarnings = json["verdict"]?["warnings"]?.arrayValue?.compactMap(\.stringValue) ?? []
        delivery = (json["delivery"]?["groups"]?.arrayValue ?? []).map { g in
            GroupCompleteness(group: g["group"]?.stringValue ?? "", receivers: g["receivers"]?.intValue ?? 0, senders: g["senders"]?.intValue ?? 0,
                              expected: g["expected"]?.intValue ?? 0, received: g["received"]?.intValue ?? 0,
                              missing: g["missing"]?.intValue ?? 0, duplicated: g["duplicated"]?.intValue ?? 0)
        }
        generatorLimitedSeconds = json["generator"]?["limited_seconds"]?.arrayValue?.compactMap { $0.intValue.map { Int(clamping: $0) } } ?? []
        self.totals = try Self.metrics(totals, file: file, full: true)
        thresholds = (json["thresholds"]?.arrayValue ?? []).map { t in
            ThresholdRow(expression: t["expression"]?.stringValue ?? "?", phase: t["phase"]?.stringValue,
                         unit: t["unit"]?.stringValue ?? "", comparison: t["comparison"]?.stringValue ?? "",
                         limit: t["limit"]?.doubleValue ?? 0, limitText: t["limit_text"]?.stringValue ?? "",
                         observed: t["observed"]?.doubleValue, observedText: t["observed_text"]?.stringValue ?? "",
                         passed: t["passed"]?.boolValue ?? false, abortOnFail: t["abort_on_fail"]?.boolValue ?? false,
                         stoppedRun: t["stopped_run"] != nil, line: Int(t["line"]?.intValue ?? 0),
                         failedSeconds: t["seconds"].map { $0["failed_seconds"]?.arrayValue?.compactMap { $0.intValue.map { Int(clamping: $0) } } ?? [] })
        }
        var phases: [Phase] = []
        for p in json["phases"]?.arrayValue ?? [] {
            let rate: String? = p["rate_per_connection"]?.doubleValue.map { "\(Format.count($0))/s per connection" }
                ?? p["rate_total"]?.doubleValue.map { "\(Format.count($0))/s in all" }
            phases.append(Phase(name: p["name"]?.stringValue ?? "", start: p["start_seconds"]?.doubleValue ?? 0,
                                duration: p["duration_seconds"]?.doubleValue ?? 0, measured: p["measured_seconds"]?.doubleValue,
                                connections: (p["connections"]?["from"]?.intValue ?? 0, p["connections"]?["to"]?.intValue ?? 0),
                                rate: rate, totals: try p["totals"].map { (v) throws(ResultsFileError) in try Self.metrics(v, file: file, full: false) },
                                delivery: p["delivery"].map(Self.delivery)))
        }
        self.phases = phases
        var intervals: [Interval] = []
        for i in json["intervals"]?.arrayValue ?? [] {
            intervals.append(Interval(second: Int(i["second"]?.intValue ?? Int64(intervals.count)), metrics: try Self.metrics(i, file: file, full: false)))
        }
        self.intervals = intervals
        var agents: [Agent] = []
        for a in json["agents"]?.arrayValue ?? [] {
            agents.append(Agent(index: Int(a["index"]?.intValue ?? Int64(agents.count)), name: a["name"]?.stringValue ?? "",
                                host: a["host"]?.stringValue ?? "", lostAt: a["lost_at_seconds"]?.doubleValue,
                                lostReason: a["lost_reason"]?.stringValue, clockOffsetMicros: a["clock_offset_us"]?.doubleValue,
                                startOffsetMicros: a["start_offset_us"]?.doubleValue,
                                totals: try a["totals"].map { (v) throws(ResultsFileError) in try Self.metrics(v, file: file, full: false) } ?? Metrics()))
        }
        self.agents = agents
        barriers = (json["barriers"]?.arrayValue ?? []).map { b in
            Barrier(name: b["name"]?.stringValue ?? "", generation: Int(b["generation"]?.intValue ?? 0), users: b["users"]?.intValue ?? 0,
                    timedOut: b["timed_out"]?.boolValue ?? false, releaseSpreadMicros: b["release_spread_us"]?.doubleValue,
                    loopReleaseSpreadMicros: b["loop_release_spread_us"]?.doubleValue, sendSpreadMicros: b["send_spread_us"]?.doubleValue,
                    slowestLoopSendCostMicros: b["slowest_loop_send_cost_us"]?.doubleValue)
        }
    }

    static func delivery(_ d: JSONValue) -> Delivery {
        Delivery(plannedConnectionSeconds: d["planned_connection_seconds"]?.doubleValue ?? 0,
                 heldConnectionSeconds: d["held_connection_seconds"]?.doubleValue ?? 0,
                 connectionShortfall: d["connection_shortfall"]?.doubleValue ?? 0,
                 plannedMessages: d["planned_messages"]?.doubleValue, sentMessages: d["sent_messages"]?.intValue,
                 messageShortfall: d["message_shortfall"]?.doubleValue, allowedShortfall: d["allowed_shortfall"]?.doubleValue ?? 0.01,
                 passed: d["passed"]?.boolValue ?? true)
    }

    /// A `{counters, gauges, histograms}` object; `full` decodes each histogram's `hdr` encoding.
    static func metrics(_ v: JSONValue, file: String, full: Bool) throws(ResultsFileError) -> Metrics {
        var m = Metrics()
        for (k, c) in v["counters"]?.objectValue ?? [] { m.counters[k] = c.intValue ?? 0 }
        for (k, g) in v["gauges"]?.objectValue ?? [] { m.gauges[k] = g.intValue ?? 0 }
        for (name, h) in v["histograms"]?.objectValue ?? [] {
            var l = Latency(count: h["count"]?.intValue ?? 0)
            l.min = h["min_us"]?.intValue ?? 0
            l.p50 = h["p50_us"]?.intValue ?? 0
            l.p90 = h["p90_us"]?.intValue ?? 0
            l.p95 = h["p95_us"]?.intValue ?? 0
            l.p99 = h["p99_us"]?.intValue ?? 0
            l.p999 = h["p99_9_us"]?.intValue ?? 0
            l.max = h["max_us"]?.intValue ?? 0
            l.mean = h["mean_us"]?.doubleValue
            if full, let encoded = h["hdr"]?.stringValue {
                do { l.histogram = try HDRHistogram(v2Base64: encoded) } catch {
                    throw ResultsFileError(file: file, "histogram \"\(name)\" has a bad HdrHistogram encoding: \(error)")
                }
            }
            m.latencies[name] = l
        }
        return m
    }
}
