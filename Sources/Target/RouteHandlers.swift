import JSON
import Net
import WebSocket

/// Base of the per-path handlers: counts traffic and keeps the application's registry of open
/// connections; subclasses add what their path does.
class RouteHandler: WebSocketDelegate {
    // unowned(unsafe): the application owns its handlers and outlives them; plain unowned would
    // retain and release on every message.
    unowned(unsafe) let app: TargetApplication

    init(app: TargetApplication) { self.app = app }

    func webSocketDidOpen(_ connection: WebSocketConnection) {
        app.opened(connection)
        joined(connection)
    }

    func webSocket(_ connection: WebSocketConnection, didReceive payload: UnsafeRawBufferPointer, opcode: Opcode) {
        app.metrics.add(.messagesReceived)
        app.metrics.add(.bytesReceived, Int64(payload.count))
        received(payload, opcode: opcode, from: connection)
    }

    func webSocket(_ connection: WebSocketConnection, didCloseWith outcome: CloseOutcome) {
        left(connection)
        app.closed(connection, outcome: outcome)
    }

    /// A connection on this path completed its handshake.
    func joined(_ connection: WebSocketConnection) {}
    /// A message arrived.
    func received(_ payload: UnsafeRawBufferPointer, opcode: Opcode, from connection: WebSocketConnection) {}
    /// The connection closed.
    func left(_ connection: WebSocketConnection) {}
}

/// `/` and `/echo`: every message comes back as it was sent.
final class EchoHandler: RouteHandler {
    override func received(_ payload: UnsafeRawBufferPointer, opcode: Opcode, from connection: WebSocketConnection) {
        app.send(payload, opcode: opcode, to: connection)
    }
}

/// `/delay?ms=N`: every message comes back after N milliseconds.
final class DelayHandler: RouteHandler {
    override func received(_ payload: UnsafeRawBufferPointer, opcode: Opcode, from connection: WebSocketConnection) {
        let copy = Array(payload)
        let delay = Int64(connection.tag)
        app.loop.schedule(after: Nanoseconds.milliseconds(delay)) { [app] in
            copy.withUnsafeBytes { app.send($0, opcode: opcode, to: connection) }
        }
    }
}

/// A set of connections keyed by identity, in no particular order.
struct Members {
    private(set) var byID: [ObjectIdentifier: WebSocketConnection] = [:]
    mutating func insert(_ c: WebSocketConnection) { byID[ObjectIdentifier(c)] = c }
    mutating func remove(_ c: WebSocketConnection) { byID[ObjectIdentifier(c)] = nil }
    var isEmpty: Bool { byID.isEmpty }
    var count: Int { byID.count }
    var all: Dictionary<ObjectIdentifier, WebSocketConnection>.Values { byID.values }
}

/// `/rooms/NAME`: every message goes to every member of the room (the sender included), on every worker.
///
/// Lossy on request, for testing what load tests count: a connection opened with
/// `?drop_every=N` misses every Nth message delivered to it; with `?drop_after=M` its own
/// messages after the M-th reach nobody; with `?mute=1` none of them do. Every delivery left out
/// is counted in `volley_target_deliveries_dropped_total` (exact with one worker; with several,
/// only this worker's members of the room are counted).
final class RoomHandler: RouteHandler {
    /// What a connection loses on purpose.
    struct Loss {
        var dropEvery = 0
        var dropAfter = 0
        var mute = false
        var isLossless: Bool { dropEvery <= 0 && dropAfter <= 0 && !mute }
    }

    /// A lossy connection's rules and counts.
    private struct LossState {
        var rules: Loss
        var delivered = 0
        var sent = 0
    }

    private var rooms: [String: Members] = [:]
    private var roomOf: [ObjectIdentifier: String] = [:]
    private var losses: [ObjectIdentifier: LossState] = [:]

    static func roomName(_ path: String) -> String? {
        let name = String(path.dropFirst("/rooms/".count))
        return name.isEmpty || name.contains("/") ? nil : PercentCoding.decode(name)
    }

    func register(_ connection: WebSocketConnection, room: String, loss: Loss = Loss()) {
        roomOf[ObjectIdentifier(connection)] = room
        if !loss.isLossless { losses[ObjectIdentifier(connection)] = LossState(rules: loss) }
    }

    override func joined(_ connection: WebSocketConnection) {
        guard let room = roomOf[ObjectIdentifier(connection)] else { return }
        rooms[room, default: Members()].insert(connection)
    }

    override func left(_ connection: WebSocketConnection) {
        guard let room = roomOf.removeValue(forKey: ObjectIdentifier(connection)) else { return }
        losses[ObjectIdentifier(connection)] = nil
        rooms[room]?.remove(connection)
        if rooms[room]?.isEmpty == true { rooms[room] = nil }
    }

    override func received(_ payload: UnsafeRawBufferPointer, opcode: Opcode, from connection: WebSocketConnection) {
        guard let room = roomOf[ObjectIdentifier(connection)] else { return }
        if var state = losses[ObjectIdentifier(connection)] {
            state.sent += 1
            losses[ObjectIdentifier(connection)] = state
            if state.rules.mute || (state.rules.dropAfter > 0 && state.sent > state.rules.dropAfter) {
                app.metrics.add(.deliveriesDropped, Int64(rooms[room]?.count ?? 0))
                return
            }
        }
        deliver(payload, opcode: opcode, room: room)
        app.publish(topic: "room/" + room, payload: payload, text: opcode == .text)
    }

    /// Sends to this worker's members of `room` (less what lossy members drop).
    func deliver(_ payload: UnsafeRawBufferPointer, opcode: Opcode, room: String) {
        guard let members = rooms[room] else { return }
        for member in members.all {
            if var state = losses[ObjectIdentifier(member)], state.rules.dropEvery > 0 {
                state.delivered += 1
                losses[ObjectIdentifier(member)] = state
                if state.delivered % state.rules.dropEvery == 0 {
                    app.metrics.add(.deliveriesDropped)
                    continue
                }
            }
            app.send(payload, opcode: opcode, to: member)
        }
    }
}

/// `/chat?name=NAME`: announcements and messages as `{"message": ...}` to every chat member.
final class ChatHandler: RouteHandler {
    private var members = Members()
    private var names: [ObjectIdentifier: String] = [:]

    func register(_ connection: WebSocketConnection, name: String) {
        names[ObjectIdentifier(connection)] = name
    }

    override func joined(_ connection: WebSocketConnection) {
        members.insert(connection)
        announce("\(names[ObjectIdentifier(connection)] ?? "anonymous") has connected")
    }

    override func left(_ connection: WebSocketConnection) {
        members.remove(connection)
        let name = names.removeValue(forKey: ObjectIdentifier(connection)) ?? "anonymous"
        announce("\(name) has disconnected")
    }

    override func received(_ payload: UnsafeRawBufferPointer, opcode: Opcode, from connection: WebSocketConnection) {
        let name = names[ObjectIdentifier(connection)] ?? "anonymous"
        let text = opcode == .text ? String(decoding: payload, as: UTF8.self) : "<\(payload.count) binary bytes>"
        announce("\(name): \(text)")
    }

    private func announce(_ text: String) {
        let message = Array("{\"message\":\(JSONValue.quoted(text))}".utf8)
        message.withUnsafeBytes { bytes in
            deliver(bytes)
            app.publish(topic: "chat", payload: bytes, text: true)
        }
    }

    func deliver(_ payload: UnsafeRawBufferPointer) {
        for member in members.all { app.send(payload, opcode: .text, to: member) }
    }
}

/// `/counter`: each connection receives `{"counter": N}` every 100 ms, N = 1, 2, 3, ...
final class CounterHandler: RouteHandler, TimerTarget {
    private var next: [ObjectIdentifier: (connection: WebSocketConnection, value: Int64)] = [:]
    private var ticking = false
    static let interval = Nanoseconds.milliseconds(100)

    override func joined(_ connection: WebSocketConnection) {
        next[ObjectIdentifier(connection)] = (connection, 1)
        if !ticking {
            ticking = true
            app.loop.schedule(at: app.loop.clock.now().advanced(by: Self.interval), target: self, token: 0)
        }
    }

    override func left(_ connection: WebSocketConnection) {
        next[ObjectIdentifier(connection)] = nil
    }

    func timerFired(token: UInt64, now: Instant) {
        for (id, entry) in next {
            let message = Array("{\"counter\":\(entry.value)}".utf8)
            message.withUnsafeBytes { app.send($0, opcode: .text, to: entry.connection) }
            next[id]?.value = entry.value + 1
        }
        if next.isEmpty {
            ticking = false
        } else {
            app.loop.schedule(at: now.advanced(by: Self.interval), target: self, token: 0)
        }
    }
}

/// `/state?name=NAME`: a counter shared by every client of every worker (one per name, default
/// "default"). `{"op":"increment"}` adds one and every client of that name receives
/// `{"type":"state","value":N}`; `{"op":"get"}` answers the sender only.
final class StateHandler: RouteHandler {
    private var members: [String: Members] = [:]
    private var nameOf: [ObjectIdentifier: String] = [:]
    private(set) var values: [String: UInt64] = [:]

    func register(_ connection: WebSocketConnection, name: String) {
        nameOf[ObjectIdentifier(connection)] = name
    }

    override func joined(_ connection: WebSocketConnection) {
        let name = nameOf[ObjectIdentifier(connection)] ?? "default"
        members[name, default: Members()].insert(connection)
        sendValue(name, to: connection)
    }

    override func left(_ connection: WebSocketConnection) {
        guard let name = nameOf.removeValue(forKey: ObjectIdentifier(connection)) else { return }
        members[name]?.remove(connection)
        if members[name]?.isEmpty == true { members[name] = nil }
    }

    override func received(_ payload: UnsafeRawBufferPointer, opcode: Opcode, from connection: WebSocketConnection) {
        let name = nameOf[ObjectIdentifier(connection)] ?? "default"
        switch JSONScanner.string("op", in: payload) {
        case "increment":
            if app.hasHub {
                app.hubIncrement(name)
            } else {
                update(name, to: (values[name] ?? 0) + 1)
            }
        case "get":
            sendValue(name, to: connection)
        default:
            app.metrics.add(.badRequests)
            app.sendText("{\"error\":\"expected {\\\"op\\\": \\\"increment\\\"} or {\\\"op\\\": \\\"get\\\"}\"}", to: connection)
        }
    }

    /// Sets counter `name` (from the hub, or locally) and tells every local client of it.
    func update(_ name: String, to newValue: UInt64) {
        values[name] = newValue
        for member in members[name]?.all ?? Members().all { sendValue(name, to: member) }
    }

    private func sendValue(_ name: String, to connection: WebSocketConnection) {
        app.sendText("{\"type\":\"state\",\"value\":\(values[name] ?? 0)}", to: connection)
    }
}

/// `/private?user=ID`: a message `{"to": ID, ...}` is delivered only to the connections of user ID.
final class PrivateHandler: RouteHandler {
    private var users: [String: Members] = [:]
    private var userOf: [ObjectIdentifier: String] = [:]

    func register(_ connection: WebSocketConnection, user: String) {
        userOf[ObjectIdentifier(connection)] = user
    }

    override func joined(_ connection: WebSocketConnection) {
        guard let user = userOf[ObjectIdentifier(connection)] else { return }
        users[user, default: Members()].insert(connection)
    }

    override func left(_ connection: WebSocketConnection) {
        guard let user = userOf.removeValue(forKey: ObjectIdentifier(connection)) else { return }
        users[user]?.remove(connection)
        if users[user]?.isEmpty == true { users[user] = nil }
    }

    override func received(_ payload: UnsafeRawBufferPointer, opcode: Opcode, from connection: WebSocketConnection) {
        guard let to = JSONScanner.string("to", in: payload) else {
            app.metrics.add(.badRequests)
            app.sendText("{\"error\":\"a private message needs a \\\"to\\\" field\"}", to: connection)
            return
        }
        let deliveredHere = deliver(payload, opcode: opcode, user: to)
        if app.hasHub {
            app.publish(topic: "private/" + to, payload: payload, text: opcode == .text)
        } else if !deliveredHere {
            app.metrics.add(.privateUndeliverable)
        }
    }

    /// Sends to this worker's connections of `user`; false if it has none.
    @discardableResult
    func deliver(_ payload: UnsafeRawBufferPointer, opcode: Opcode, user: String) -> Bool {
        guard let members = users[user] else { return false }
        for member in members.all { app.send(payload, opcode: opcode, to: member) }
        return true
    }
}
