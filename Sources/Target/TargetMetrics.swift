import WebSocket

/// The target's counters, per worker; workers' counters are summed by the hub.
struct TargetMetrics {
    enum Counter: Int, CaseIterable {
        case connectionsOpen, connectionsAccepted, webSocketsOpened, httpRequests, messagesReceived, messagesSent,
             bytesReceived, bytesSent, connectionsLost, timeouts, handshakesRejected, privateUndeliverable, badRequests,
             deliveriesDropped
    }

    static let width = Counter.allCases.count + WebSocketViolation.allCases.count

    /// Base counters, then one per protocol-violation class. Raw storage owned by the worker's
    /// single loop thread: incrementing is one add, with no copy-on-write check.
    private let storage = UnsafeMutablePointer<Int64>.allocate(capacity: TargetMetrics.width)

    init() { storage.initialize(repeating: 0, count: Self.width) }

    /// Frees the storage (the metrics live as long as their worker).
    func deallocate() { storage.deallocate() }

    var values: [Int64] { Array(UnsafeBufferPointer(start: storage, count: Self.width)) }

    @inline(__always)
    func add(_ counter: Counter, _ n: Int64 = 1) { storage[counter.rawValue] &+= n }

    func add(_ violation: WebSocketViolation) {
        storage[Counter.allCases.count + WebSocketViolation.allCases.firstIndex(of: violation)!] &+= 1
    }

    subscript(_ counter: Counter) -> Int64 { storage[counter.rawValue] }

    /// Prometheus text exposition of `totals` (every worker summed) and this worker's own values.
    static func prometheus(totals: [Int64], worker: Int, workers: Int, uptime: Double) -> String {
        func v(_ c: Counter) -> Int64 { c.rawValue < totals.count ? totals[c.rawValue] : 0 }
        var out = ""
        func metric(_ name: String, _ type: String, _ help: String, _ value: Int64) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name) \(value)\n"
        }
        metric("volley_target_connections", "gauge", "Open WebSocket connections.", v(.connectionsOpen))
        metric("volley_target_connections_accepted_total", "counter", "TCP connections accepted.", v(.connectionsAccepted))
        metric("volley_target_websockets_opened_total", "counter", "Completed WebSocket handshakes.", v(.webSocketsOpened))
        metric("volley_target_http_requests_total", "counter", "Plain HTTP requests answered.", v(.httpRequests))
        metric("volley_target_messages_received_total", "counter", "WebSocket messages received.", v(.messagesReceived))
        metric("volley_target_messages_sent_total", "counter", "WebSocket messages sent.", v(.messagesSent))
        metric("volley_target_bytes_received_total", "counter", "WebSocket payload bytes received.", v(.bytesReceived))
        metric("volley_target_bytes_sent_total", "counter", "WebSocket payload bytes sent.", v(.bytesSent))
        metric("volley_target_deliveries_dropped_total", "counter", "Room deliveries dropped on purpose (lossy rooms).", v(.deliveriesDropped))
        out += "# HELP volley_target_errors_total Connection errors by class.\n# TYPE volley_target_errors_total counter\n"
        out += "volley_target_errors_total{class=\"connection_lost\"} \(v(.connectionsLost))\n"
        out += "volley_target_errors_total{class=\"timeout\"} \(v(.timeouts))\n"
        out += "volley_target_errors_total{class=\"handshake_rejected\"} \(v(.handshakesRejected))\n"
        out += "volley_target_errors_total{class=\"bad_request\"} \(v(.badRequests))\n"
        out += "volley_target_errors_total{class=\"private_undeliverable\"} \(v(.privateUndeliverable))\n"
        for (i, violation) in WebSocketViolation.allCases.enumerated() {
            let index = Counter.allCases.count + i
            out += "volley_target_errors_total{class=\"\(violation.rawValue)\"} \(index < totals.count ? totals[index] : 0)\n"
        }
        metric("volley_target_workers", "gauge", "Worker processes sharing the port.", Int64(workers))
        out += "# HELP volley_target_uptime_seconds Seconds since this worker started.\n# TYPE volley_target_uptime_seconds gauge\n"
        out += "volley_target_uptime_seconds{worker=\"\(worker)\"} \(Int64(uptime))\n"
        return out
    }
}
