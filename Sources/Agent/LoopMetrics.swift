import Scenario
import Stats

/// Everything one event loop measures, recorded without locks: the loop writes the active
/// buffer; once per interval it swaps buffers (a pointer exchange), and the agent's control
/// thread drains the retired buffer into the compact form while the loop goes on writing the
/// other one, as HdrHistogram's interval recorder does. Nothing is allocated on the loop for
/// the hand-off, and the loop never waits for the reader.
final class LoopMetrics {
    /// Event counters, in the order of `names`.
    enum Counter: Int, CaseIterable {
        case connectAttempts, connectionsOpened, connectionsClosed
        case messagesSent, messagesReceived, bytesSent, bytesReceived, messagesUnmatched
        case errorRefused, errorConnectTimeout, errorConnect, errorHandshakeStatus, errorHandshake
        case errorProtocolViolation, errorConnectionLost, errorClosedByServer
        case errorExpectTimeout, errorExpectMismatch, errorIsolation, errorSendFailed, errorBarrierTimeout, errorCapture
        case deliveryReceived, deliveryDuplicated, deliveryOutOfOrder, deliveryMissing
        case barrierReleases, iterations, expectUnanswered, connectionsHeldMillis, connectionsDueMillis
        case tlsHandshakes, tlsResumed, errorTLSVerify, errorTLSHandshake, errorTLSTimeout, errorTLSClosed
        case compressionConnections, compressionMessageBytesSent, compressionWireBytesSent
        case compressionMessageBytesReceived, compressionWireBytesReceived
        case handlersMatched, handlersReplies, refusedAsExpected, errorHandshakeAccepted, pingsSent, errorPongTimeout

        var name: String {
            switch self {
            case .connectAttempts: return "connections.attempted"
            case .connectionsOpened: return "connections.opened"
            case .connectionsClosed: return "connections.closed"
            case .messagesSent: return "messages.sent"
            case .messagesReceived: return "messages.received"
            case .bytesSent: return "bytes.sent"
            case .bytesReceived: return "bytes.received"
            case .messagesUnmatched: return "messages.unmatched"
            case .errorRefused: return "errors.refused"
            case .errorConnectTimeout: return "errors.connect_timeout"
            case .errorConnect: return "errors.connect"
            case .errorHandshakeStatus: return "errors.handshake_status"
            case .errorHandshake: return "errors.handshake"
            case .errorProtocolViolation: return "errors.protocol_violation"
            case .errorConnectionLost: return "errors.connection_lost"
            case .errorClosedByServer: return "errors.closed_by_server"
            case .errorExpectTimeout: return "errors.expect_timeout"
            case .errorExpectMismatch: return "errors.expect_mismatch"
            case .errorIsolation: return "errors.isolation_violation"
            case .errorSendFailed: return "errors.send_failed"
            case .errorBarrierTimeout: return "errors.barrier_timeout"
            case .errorCapture: return "errors.capture"
            case .deliveryReceived: return "delivery.received"
            case .deliveryDuplicated: return "delivery.duplicated"
            case .deliveryOutOfOrder: return "delivery.out_of_order"
            case .deliveryMissing: return "delivery.missing"
            case .barrierReleases: return "barrier.releases"
            case .iterations: return "iterations"
            case .expectUnanswered: return "expect.unanswered"
            case .connectionsHeldMillis: return "connections.held_ms"
            case .connectionsDueMillis: return "connections.due_ms"
            case .tlsHandshakes: return "tls.handshakes"
            case .tlsResumed: return "tls.resumed"
            case .errorTLSVerify: return "errors.tls.verify_failed"
            case .errorTLSHandshake: return "errors.tls.handshake"
            case .errorTLSTimeout: return "errors.tls.timeout"
            case .errorTLSClosed: return "errors.tls.closed"
            case .handlersMatched: return "handlers.matched"
            case .handlersReplies: return "handlers.replies"
            case .refusedAsExpected: return "connections.refused_as_expected"
            case .pingsSent: return "pings.sent"
            case .errorPongTimeout: return "errors.pong_timeout"
            case .errorHandshakeAccepted: return "errors.handshake_accepted"
            case .compressionConnections: return "compression.connections"
            case .compressionMessageBytesSent: return "compression.message_bytes_sent"
            case .compressionWireBytesSent: return "compression.wire_bytes_sent"
            case .compressionMessageBytesReceived: return "compression.message_bytes_received"
            case .compressionWireBytesReceived: return "compression.wire_bytes_received"
            }
        }
    }

    /// One interval's worth of measurements.
    final class Buffer {
        let counters = UnsafeMutablePointer<Int64>.allocate(capacity: Counter.allCases.count)
        /// Counters with names known only at run time (handshake status codes, violation classes).
        var named: [String: Int64] = [:]
        let connect = HistogramRecorder()
        /// The TLS handshake alone (wss://), from TCP connected to secured.
        let tlsHandshake = HistogramRecorder()
        /// One recorder per `measure:` name, in `measureNames` order.
        let measures: [HistogramRecorder]
        /// Offsets of barrier release instants from the named instant (µs), and of users' sends.
        let barrierRelease = HistogramRecorder()
        let barrierSend = HistogramRecorder()
        /// How late the loop ran scheduled work (its ticks, paced sends), µs.
        let generatorLag = HistogramRecorder()
        /// Gauges as the interval ended (written at the swap).
        var connectionsOpen: Int64 = 0
        var connectionsPeak: Int64 = 0
        var usersActive: Int64 = 0
        /// Run time (ns) at each 1000th connection opened during the interval.
        var openMilestones: [Int64] = []
        /// CPU time the loop's thread had used by the end of the interval (ns, cumulative).
        var threadCPU: Int64 = 0

        init(measures: Int) {
            self.measures = (0..<measures).map { _ in HistogramRecorder() }
            counters.initialize(repeating: 0, count: Counter.allCases.count)
        }

        deinit { counters.deallocate() }
    }

    let measureNames: [String]
    /// The buffer the loop writes.
    private(set) var active: Buffer
    /// The buffer the reader drains (written by the loop only at the swap).
    private(set) var retired: Buffer
    /// The active buffer's counters, kept here so counting is one pointer load.
    private var counters: UnsafeMutablePointer<Int64>

    /// Gauges: open connections now and the most open since the last swap.
    private(set) var connectionsOpen = 0
    private var connectionsPeak = 0
    /// Connection time held since the last change of `connectionsOpen` was accounted (ns).
    private var heldSince: Int64 = 0
    private var heldNanos: Int64 = 0
    /// The connections the plan asks of this loop now (its share, less users that completed
    /// their script), and the connection time it was due since the last swap (ns).
    private var dueTarget = 0
    private var dueSince: Int64 = 0
    private var dueNanos: Int64 = 0
    /// Users without a connection because their script closed it (a `close` or `reconnect`
    /// step, until the next connection opens): the script's choice, not load the loop owes.
    private var dueExcused = 0
    var usersActive = 0
    /// Connections opened since the start (every 1000th is a milestone).
    var openedSinceStart = 0

    init(measureNames: [String]) {
        self.measureNames = measureNames
        active = Buffer(measures: measureNames.count)
        retired = Buffer(measures: measureNames.count)
        counters = active.counters
    }

    @inline(__always)
    func add(_ counter: Counter, _ n: Int64 = 1) { counters[counter.rawValue] &+= n }

    func add(named name: String, _ n: Int64 = 1) { active.named[name, default: 0] += n }

    func value(_ counter: Counter) -> Int64 { counters[counter.rawValue] }

    /// Accounts the connection time held up to `now` (monotonic ns): the integral of open
    /// connections over time, which the coordinator compares with the plan.
    @inline(__always)
    private func accountHeld(_ now: Int64) {
        if connectionsOpen > 0 { heldNanos &+= Int64(connectionsOpen) &* (now &- heldSince) }
        heldSince = now
    }

    /// A connection opened at `now` (monotonic ns), `runTime` into the run.
    @inline(__always)
    func opened(now: Int64, runTime: Int64) {
        accountHeld(now)
        connectionsOpen += 1
        if connectionsOpen > connectionsPeak { connectionsPeak = connectionsOpen }
        openedSinceStart += 1
        if openedSinceStart % 1000 == 0 { active.openMilestones.append(runTime) }
    }

    /// The plan asks this loop for `target` connections from `now` on.
    @inline(__always)
    func due(_ target: Int, now: Int64) {
        accountDue(now)
        dueTarget = target
    }

    /// `delta` users went offline by their script's choice (+1) or came back (-1) at `now`.
    @inline(__always)
    func excuse(_ delta: Int, now: Int64) {
        accountDue(now)
        dueExcused += delta
    }

    @inline(__always)
    private func accountDue(_ now: Int64) {
        let owed = dueTarget - dueExcused
        if owed > 0 { dueNanos &+= Int64(owed) &* (now &- dueSince) }
        dueSince = now
    }

    /// A connection that was open closed at `now`.
    @inline(__always)
    func closed(now: Int64) {
        accountHeld(now)
        connectionsOpen -= 1
    }

    /// Recorder of the `connect` histogram and of each `measure:` metric (active buffer).
    var connect: HistogramRecorder { active.connect }
    var tlsHandshake: HistogramRecorder { active.tlsHandshake }
    var measures: [HistogramRecorder] { active.measures }
    var barrierRelease: HistogramRecorder { active.barrierRelease }
    var barrierSend: HistogramRecorder { active.barrierSend }
    var generatorLag: HistogramRecorder { active.generatorLag }

    /// Ends the interval on the loop at `now`: stamps the gauges, the connection time held and
    /// the thread's CPU into the active buffer and makes it the retired one. The caller must have
    /// drained the retired buffer since the last swap.
    func swap(now: Int64, threadCPU: Int64) {
        accountHeld(now)
        counters[Counter.connectionsHeldMillis.rawValue] &+= heldNanos / 1_000_000
        heldNanos %= 1_000_000
        due(dueTarget, now: now)
        counters[Counter.connectionsDueMillis.rawValue] &+= dueNanos / 1_000_000
        dueNanos %= 1_000_000
        active.threadCPU = threadCPU
        active.connectionsOpen = Int64(connectionsOpen)
        active.connectionsPeak = Int64(connectionsPeak)
        active.usersActive = Int64(usersActive)
        connectionsPeak = connectionsOpen
        Swift.swap(&active, &retired)
        counters = active.counters
    }

    /// Drains a retired buffer into the compact form, leaving it empty (called by the reader).
    func drain(_ buffer: Buffer) -> CompactMetricSet {
        var set = CompactMetricSet()
        for c in Counter.allCases where buffer.counters[c.rawValue] != 0 {
            set.counters[c.name] = buffer.counters[c.rawValue]
        }
        buffer.counters.update(repeating: 0, count: Counter.allCases.count)
        for (name, v) in buffer.named where v != 0 { set.counters[name] = v }
        buffer.named.removeAll(keepingCapacity: true)
        set.histograms["connect"] = buffer.connect.drainCompact()
        let tls = buffer.tlsHandshake.drainCompact()
        if !tls.isEmpty { set.histograms[MetricCatalog.tlsHandshake] = tls }
        for (i, name) in measureNames.enumerated() {
            let h = buffer.measures[i].drainCompact()
            set.histograms[name] = h
            // A group's share (rtt@viewers) also counts toward the metric's total.
            if let at = name.lastIndex(of: "@") { set.histograms[String(name[..<at]), default: CompactHistogram()].merge(h) }
        }
        let release = buffer.barrierRelease.drainCompact(), send = buffer.barrierSend.drainCompact()
        if !release.isEmpty { set.histograms["barrier_release"] = release }
        set.histograms["generator_lag"] = buffer.generatorLag.drainCompact()
        if !send.isEmpty { set.histograms["barrier_send"] = send }
        set.gauges["connections.open"] = buffer.connectionsOpen
        set.gauges["connections.peak"] = buffer.connectionsPeak
        set.gauges["users.active"] = buffer.usersActive
        return set
    }

    /// Takes the retired buffer's milestones (called by the reader).
    func takeMilestones(_ buffer: Buffer) -> [Int64] {
        defer { buffer.openMilestones.removeAll(keepingCapacity: true) }
        return buffer.openMilestones
    }
}
