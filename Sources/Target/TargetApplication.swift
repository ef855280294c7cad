import JSON
import Net
import WebSocket

/// One worker's target server: routes requests to the path handlers, counts traffic, and talks to
/// the hub when several workers share the port.
final class TargetApplication: WebSocketRouter {
    unowned(unsafe) let loop: EventLoop
    let worker: Int
    let workers: Int
    let metrics = TargetMetrics()
    private let started = Instant.now
    private var hub: HubLink?
    /// Every worker's counters summed, as last reported by the hub (this worker's own values alone without a hub).
    private var totals: [Int64]?
    private(set) var open = Members()

    private(set) lazy var echo = EchoHandler(app: self)
    private(set) lazy var delay = DelayHandler(app: self)
    private(set) lazy var rooms = RoomHandler(app: self)
    private(set) lazy var chat = ChatHandler(app: self)
    private(set) lazy var counter = CounterHandler(app: self)
    private(set) lazy var state = StateHandler(app: self)
    private(set) lazy var privateMessages = PrivateHandler(app: self)

    init(loop: EventLoop, worker: Int, workers: Int) {
        self.loop = loop
        self.worker = worker
        self.workers = workers
    }

    deinit { metrics.deallocate() }

    var hasHub: Bool { hub != nil }

    // MARK: Routing

    func route(_ request: HTTPRequestHead, connection: WebSocketConnection) -> ServerRoute {
        let path = request.path
        if !ServerHandshake.isUpgradeRequest(request) {
            metrics.add(.httpRequests)
            guard request.method == "GET" || request.method == "HEAD" else {
                return .respond(status: 405, contentType: "text/plain; charset=utf-8", body: Array("use GET\n".utf8))
            }
            switch path {
            case "/health":
                return .respond(status: 200, contentType: "application/json", body: Array(healthJSON().utf8))
            case "/metrics":
                return .respond(status: 200, contentType: "text/plain; version=0.0.4",
                                body: Array(TargetMetrics.prometheus(totals: currentTotals, worker: worker, workers: workers,
                                                                     uptime: Double(started.nanoseconds(to: .now)) / 1e9).utf8))
            default:
                break
            }
        }
        switch path {
        case "/", "/echo":
            return .upgrade(echo, subprotocol: nil)
        case "/chat":
            chat.register(connection, name: request.queryParameter("name") ?? "anonymous")
            return .upgrade(chat, subprotocol: nil)
        case "/delay":
            guard let ms = request.queryParameter("ms").flatMap(Int.init), (0...60_000).contains(ms) else {
                metrics.add(.badRequests)
                return .respond(status: 400, contentType: "text/plain; charset=utf-8", body: Array("/delay needs ?ms=N with 0 <= N <= 60000\n".utf8))
            }
            connection.tag = ms
            return .upgrade(delay, subprotocol: nil)
        case "/counter":
            return .upgrade(counter, subprotocol: nil)
        case "/state":
            state.register(connection, name: request.queryParameter("name") ?? "default")
            return .upgrade(state, subprotocol: nil)
        case "/private":
            guard let user = request.queryParameter("user"), !user.isEmpty else {
                metrics.add(.badRequests)
                return .respond(status: 400, contentType: "text/plain; charset=utf-8", body: Array("/private needs ?user=ID\n".utf8))
            }
            privateMessages.register(connection, user: user)
            return .upgrade(privateMessages, subprotocol: nil)
        default:
            if path.hasPrefix("/rooms/"), let room = RoomHandler.roomName(path) {
                let loss = RoomHandler.Loss(dropEvery: request.queryParameter("drop_every").flatMap(Int.init) ?? 0,
                                            dropAfter: request.queryParameter("drop_after").flatMap(Int.init) ?? 0,
                                            mute: ["1", "true", "yes"].contains(request.queryParameter("mute") ?? ""))
                rooms.register(connection, room: room, loss: loss)
                return .upgrade(rooms, subprotocol: nil)
            }
            metrics.add(.badRequests)
            let paths = "/, /echo, /rooms/NAME, /chat?name=NAME, /delay?ms=N, /counter, /state?name=NAME, /private?user=ID, /health, /metrics"
            return .respond(status: 404, contentType: "text/plain; charset=utf-8", body: Array("no such path \(path); paths: \(paths)\n".utf8))
        }
    }

    private var currentTotals: [Int64] {
        totals ?? metrics.values
    }

    func healthJSON() -> String {
        let t = currentTotals
        let connections = t[TargetMetrics.Counter.connectionsOpen.rawValue]
        let uptime = Double(started.nanoseconds(to: .now)) / 1e9
        return JSONValue.object([("status", "ok"), ("worker", .integer(Int64(worker))), ("workers", .integer(Int64(workers))),
                                 ("connections", .integer(connections)), ("uptime_seconds", .double((uptime * 10).rounded() / 10))]).serialized() + "\n"
    }

    // MARK: Bookkeeping

    func accepted(_ connection: WebSocketConnection) {
        metrics.add(.connectionsAccepted)
    }

    func opened(_ connection: WebSocketConnection) {
        open.insert(connection)
        metrics.add(.webSocketsOpened)
        metrics.add(.connectionsOpen)
    }

    func closed(_ connection: WebSocketConnection, outcome: CloseOutcome) {
        open.remove(connection)
        metrics.add(.connectionsOpen, -1)
        switch outcome {
        case let .protocolViolation(v): metrics.add(v)
        case .connectionLost: metrics.add(.connectionsLost)
        case .timedOut: metrics.add(.timeouts)
        default: break
        }
    }

    /// Sends and counts one message.
    @inline(__always)
    func send(_ payload: UnsafeRawBufferPointer, opcode: Opcode, to connection: WebSocketConnection) {
        if connection.send(opcode, payload) {
            metrics.add(.messagesSent)
            metrics.add(.bytesSent, Int64(payload.count))
        }
    }

    func sendText(_ text: String, to connection: WebSocketConnection) {
        Array(text.utf8).withUnsafeBytes { send($0, opcode: .text, to: connection) }
    }

    // MARK: Hub

    func attachHub(fd: Int32) throws(SocketError) {
        hub = try HubLink(fd: fd, loop: loop, onMessage: { [unowned self] in self.hubMessage($0) }, onClose: { [unowned self] in
            Log.error("target worker \(self.worker): lost the hub; continuing without cross-worker delivery")
            self.hub = nil
        })
        loop.schedule(after: Nanoseconds.milliseconds(200)) { [unowned self] in self.reportCounters() }
    }

    private func reportCounters() {
        guard let hub else { return }
        hub.send(.counters(worker: worker, values: metrics.values))
        loop.schedule(after: Nanoseconds.milliseconds(200)) { [unowned self] in self.reportCounters() }
    }

    func publish(topic: String, payload: UnsafeRawBufferPointer, text: Bool) {
        hub?.send(.publish(topic: topic, text: text, payload: Array(payload)))
    }

    func hubIncrement(_ name: String) { hub?.send(.increment(name: name, count: 1)) }

    private func hubMessage(_ message: HubMessage) {
        switch message {
        case let .publish(topic, text, payload):
            let opcode: Opcode = text ? .text : .binary
            payload.withUnsafeBytes { bytes in
                if topic == "chat" {
                    chat.deliver(bytes)
                } else if topic.hasPrefix("room/") {
                    rooms.deliver(bytes, opcode: opcode, room: String(topic.dropFirst(5)))
                } else if topic.hasPrefix("private/") {
                    privateMessages.deliver(bytes, opcode: opcode, user: String(topic.dropFirst(8)))
                }
            }
        case let .stateValue(name, value):
            state.update(name, to: value)
        case let .totals(_, values):
            totals = values
        case .increment, .counters:
            break
        }
    }
}
