import Scenario
import Stats

/// What one phase offered against its plan: connections held (time-weighted, from the
/// loops' exact integral of open connections) and, in the open model, messages sent.
public struct PhaseDelivery: Sendable, Equatable {
    public var phase: String
    /// The whole seconds compared (see `LoadDelivery`).
    public var seconds: Range<Int>
    public var plannedConnectionSeconds: Double
    public var heldConnectionSeconds: Double
    /// Open model only.
    public var plannedMessages: Double?
    public var sentMessages: Int64?
    /// Sends spaced as a Poisson process: their count varies by about its square root, so
    /// three standard deviations more slack before the phase is short.
    public var poissonArrivals = false

    /// The share of the planned connection time not held (0 when at or above the plan).
    public var connectionShortfall: Double { Self.shortfall(planned: plannedConnectionSeconds, delivered: heldConnectionSeconds) }
    /// The share of the planned messages not sent (open model). Where a window cuts a user's
    /// schedule is chance (each user may send one message more or less in it), so the count
    /// gets a slack of about the square root of the connections, plus one, before it is short.
    public var messageShortfall: Double? {
        guard let plannedMessages, let sentMessages else { return nil }
        let connections = seconds.isEmpty ? 0 : plannedConnectionSeconds / Double(seconds.count)
        let chance = poissonArrivals ? 3 * plannedMessages.squareRoot() : 0
        return Self.shortfall(planned: plannedMessages, delivered: Double(sentMessages) + connections.squareRoot() + 1 + chance)
    }

    /// The larger of the two shortfalls.
    public var shortfall: Double { Swift.max(connectionShortfall, messageShortfall ?? 0) }

    static func shortfall(planned: Double, delivered: Double) -> Double {
        planned > 0 ? Swift.max(0, (planned - delivered) / planned) : 0
    }

    public init(phase: String, seconds: Range<Int>, plannedConnectionSeconds: Double, heldConnectionSeconds: Double,
                plannedMessages: Double?, sentMessages: Int64?) {
        self.phase = phase
        self.seconds = seconds
        self.plannedConnectionSeconds = plannedConnectionSeconds
        self.heldConnectionSeconds = heldConnectionSeconds
        self.plannedMessages = plannedMessages
        self.sentMessages = sentMessages
    }
}

/// The load a run delivered against the one it planned, phase by phase.
///
/// A phase is compared over the whole seconds that lie inside it and inside the measured run;
/// when it begins with a step up in connections, the comparison starts at the first second in
/// which the loops held what they were due (opening the step's connections is the ramp, shown
/// as the time to reach them), or one second into the phase if they never did, so that a
/// lasting shortfall is still counted. The planned connection time is what the loops were due to hold: each loop
/// integrates its share of the plan, less the users that completed their script (a user whose
/// steps are done has delivered its part and is not replaced) and those whose script closed
/// their connection (`close`, `reconnect`) until the next opens; the held connection time is the
/// loops' integral of open connections. In the open model the messages planned are the rate
/// times the planned connection time (a total rate: times the seconds), less half a message for
/// every connection opened in the window: a new connection's first send lands at a random point
/// of its first interval, so that users do not send in step.
public enum LoadDelivery {
    public static func evaluate(_ scenario: Scenario, series: IntervalSeries, runSeconds: Double) -> [PhaseDelivery] {
        var out: [PhaseDelivery] = []
        var start: Int64 = 0
        var previousEnd = 0.0   // connections planned just before the phase
        for phase in scenario.phases {
            defer {
                start += phase.duration
                previousEnd = Double(phase.connections.to)
            }
            let phaseStart = Double(start) / 1e9, phaseEnd = Double(start + phase.duration) / 1e9
            var first = Int(phaseStart.rounded(.up))
            let end = Int(Swift.min(phaseEnd, runSeconds).rounded(.down))
            if Double(phase.connections.from) > previousEnd {
                let stepSecond = Int(phaseStart.rounded(.down))
                let reached = (stepSecond..<end).first { second in
                    let interval = series.compact(second)
                    let due = interval.counter("connections.due_ms")
                    return due > 0 && Double(interval.counter("connections.held_ms")) >= 0.99 * Double(due)
                }
                first = Swift.max(first, reached ?? stepSecond + 1)
            }
            guard first < end else { continue }
            let window = first..<end
            let totals = series.total(seconds: window)
            let planned = Double(totals.counter("connections.due_ms")) / 1000
            guard planned > 0 else { continue }
            let held = Double(totals.counter("connections.held_ms")) / 1000
            var plannedMessages: Double?
            var sent: Int64?
            if scenario.model == .open, let rate = phase.rate {
                let opened = Double(totals.counter("connections.opened"))
                switch rate {
                case let .perConnection(r): plannedMessages = Swift.max(0, r * planned - 0.5 * opened)
                case let .total(r): plannedMessages = Swift.max(0, r * Double(window.count) - 0.5 * opened)
                }
                sent = totals.counter("messages.sent")
            }
            var delivery = PhaseDelivery(phase: phase.name, seconds: window, plannedConnectionSeconds: planned,
                                         heldConnectionSeconds: held, plannedMessages: plannedMessages, sentMessages: sent)
            delivery.poissonArrivals = scenario.options.arrivals == .poisson
            out.append(delivery)
        }
        return out
    }
}

/// What, besides its thresholds, decides whether a run may pass: agents lost, load that fell
/// short of the plan, seconds in which the generator itself was the bottleneck.
public struct RunConditions: Sendable, Equatable {
    /// Agents lost during the run, with when and why.
    public var lostAgents: [String] = []
    /// Every phase's delivery against the plan.
    public var delivery: [PhaseDelivery] = []
    /// The shortfall allowed (options.max_shortfall).
    public var maxShortfall: Double = 0.01
    /// Seconds in which at least one agent was saturated.
    public var generatorLimitedSeconds: [Int] = []
    public var generatorPolicy: GeneratorLimitedPolicy = .warn

    public init() {}

    /// The phases that fell short by more than allowed.
    public var shortPhases: [PhaseDelivery] { delivery.filter { $0.shortfall > maxShortfall + 1e-12 } }

    /// What makes the run fail, one phrase each.
    public var failures: [String] {
        var out: [String] = []
        if !lostAgents.isEmpty { out.append("\(lostAgents.count) agent\(lostAgents.count == 1 ? "" : "s") lost (\(lostAgents.joined(separator: "; ")))") }
        for p in shortPhases {
            out.append("phase \(p.phase) delivered \(Format.percent(1 - p.shortfall)) of its planned load (shortfall allowed \(Format.percent(maxShortfall)))")
        }
        if !generatorLimitedSeconds.isEmpty && generatorPolicy == .fail { out.append(generatorLimitedText) }
        return out
    }

    /// What the verdict should warn about without failing.
    public var warnings: [String] {
        !generatorLimitedSeconds.isEmpty && generatorPolicy == .warn ? [generatorLimitedText] : []
    }

    var generatorLimitedText: String {
        let n = generatorLimitedSeconds.count
        return "the load generator was saturated in \(n) second\(n == 1 ? "" : "s") (generator-limited: latency may be the generator's, not the system's)"
    }
}
