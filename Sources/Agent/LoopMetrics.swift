import Stats

/// Everything one event loop measures, recorded without locks (the loop owns it) and drained
/// into a `MetricSet` once per interval.
final class LoopMetrics {
    /// Event counters, in the order of `names`.
    enum Counter: Int, CaseIterable {
        case connectAttempts, connectionsOpened, connectionsClosed
        case messagesSent, messagesReceived, bytesSent, bytesReceived, messagesUnmatched
        case errorRefused, errorConnectTimeout, errorConnect, errorHandshakeStatus, errorHandshake
        case errorProtocolViolation, errorConnectionLost, errorClosedByServer
        case errorExpectTimeout, errorExpectMismatch, errorIsolation, errorSendFailed, errorBarrierTimeout
        case deliveryReceived, deliveryDuplicated, deliveryOutOfOrder, deliveryMissing
        case barrierReleases, iterations

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
            case .deliveryReceived: return "delivery.received"
            case .deliveryDuplicated: return "delivery.duplicated"
            case .deliveryOutOfOrder: return "delivery.out_of_order"
            case .deliveryMissing: return "delivery.missing"
            case .barrierReleases: return "barrier.releases"
            case .iterations: return "iterations"
            }
        }
    }

    private let counters = UnsafeMutablePointer<Int64>.allocate(capacity: Counter.allCases.count)
    /// Counters with names known only at run time (handshake status codes, violation classes).
    private var named: [String: Int64] = [:]
    let connect = HistogramRecorder()
    /// One recorder per `measure:` name, in `measureNames` order.
    let measures: [HistogramRecorder]
    let measureNames: [String]
    /// Offsets of barrier release instants from the named instant (µs), and of users' sends.
    let barrierRelease = HistogramRecorder()
    let barrierSend = HistogramRecorder()
    /// Connections opened since the start, and the run time (ns) at each 1000th: how fast the
    /// planned count was really reached.
    var openedSinceStart = 0
    var openMilestones: [Int64] = []

    /// Gauges: open connections now (read at drain time) and the most open since the last drain.
    var connectionsOpen = 0
    private var connectionsPeak = 0
    var usersActive = 0

    @inline(__always)
    func opened() {
        connectionsOpen += 1
        if connectionsOpen > connectionsPeak { connectionsPeak = connectionsOpen }
    }

    init(measureNames: [String]) {
        self.measureNames = measureNames
        measures = measureNames.map { _ in HistogramRecorder() }
        counters.initialize(repeating: 0, count: Counter.allCases.count)
    }

    deinit { counters.deallocate() }

    @inline(__always)
    func add(_ counter: Counter, _ n: Int64 = 1) { counters[counter.rawValue] &+= n }

    func add(named name: String, _ n: Int64 = 1) { named[name, default: 0] += n }

    func value(_ counter: Counter) -> Int64 { counters[counter.rawValue] }

    /// Everything measured since the last drain, as named metrics; counters start again from 0.
    func drain() -> MetricSet {
        var set = MetricSet()
        for c in Counter.allCases where counters[c.rawValue] != 0 {
            set.counters[c.name] = counters[c.rawValue]
        }
        counters.update(repeating: 0, count: Counter.allCases.count)
        for (name, v) in named where v != 0 { set.counters[name] = v }
        named.removeAll(keepingCapacity: true)
        set.histograms["connect"] = connect.drain()
        for (i, name) in measureNames.enumerated() { set.histograms[name] = measures[i].drain() }
        let release = barrierRelease.drain(), send = barrierSend.drain()
        if !release.isEmpty { set.histograms["barrier_release"] = release }
        if !send.isEmpty { set.histograms["barrier_send"] = send }
        set.gauges["connections.open"] = Int64(connectionsOpen)
        set.gauges["connections.peak"] = Int64(connectionsPeak)
        connectionsPeak = connectionsOpen
        set.gauges["users.active"] = Int64(usersActive)
        return set
    }
}
