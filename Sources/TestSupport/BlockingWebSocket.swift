import Net
import WebSocket

/// A WebSocket client for tests that reads like a script: each call steps a private event loop
/// on the calling thread until what it waits for happens or the timeout passes.
public final class BlockingWebSocket: WebSocketDelegate {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    private let loop: EventLoop
    private var connection: WebSocketConnection?
    private var messages: [(opcode: Opcode, bytes: [UInt8])] = []
    private var opened = false
    /// How the connection ended, once it has.
    public private(set) var outcome: CloseOutcome?
    /// The TLS handshake, once secured (wss://): its duration and whether it resumed a session.
    public private(set) var secured: (nanoseconds: Int64, resumed: Bool)?
    /// The session the server issued, taken when the connection closed (wss://).
    public private(set) var session: TLSSession?
    /// What compression did on this connection.
    public let tally = CompressionTally()
    /// The permessage-deflate parameters agreed, if any.
    public var deflate: DeflateParameters? { connection?.deflate }

    /// Connects to `url` and waits for the handshake; throws if it does not open.
    public convenience init(_ url: String, headers: [(name: String, value: String)] = [], subprotocols: [String] = [],
                            tls: ClientTLS? = nil, deflate: DeflateOffer? = nil, limits: WebSocketLimits = .standard,
                            timeout: Double = 5) throws {
        try self.init(connecting: url, headers: headers, subprotocols: subprotocols, tls: tls, deflate: deflate, limits: limits,
                      timeout: timeout)
        if let outcome, !opened { throw Failure(description: "could not open \(url): \(outcome)") }
    }

    private init(connecting url: String, headers: [(name: String, value: String)], subprotocols: [String], tls: ClientTLS?,
                 deflate: DeflateOffer? = nil, limits: WebSocketLimits = .standard, timeout: Double) throws {
        guard let parsed = WebSocketURL(url) else { throw Failure(description: "bad URL \(url)") }
        loop = try EventLoop()
        let address = try Resolver.resolve(host: parsed.host, port: parsed.port)[0]
        var options = ClientOptions()
        options.headers = headers
        options.subprotocols = subprotocols
        options.tls = tls
        options.deflate = deflate
        options.limits = limits
        options.compressionTally = tally
        connection = try WebSocketConnection.connect(to: address, url: parsed, on: loop, options: options, delegate: self)
        try step(timeout: timeout, until: { self.opened || self.outcome != nil }, what: "the handshake with \(url)")
    }

    deinit {
        connection?.abort()
    }

    /// The negotiated subprotocol.
    public var subprotocol: String? { connection?.subprotocol }

    public func webSocketDidOpen(_ connection: WebSocketConnection) { opened = true }

    public func webSocketDidSecure(_ connection: WebSocketConnection, nanoseconds: Int64, resumed: Bool) {
        secured = (nanoseconds, resumed)
    }

    /// "TLSv1.3 TLS_AES_256_GCM_SHA384" on an open wss:// connection.
    public var tlsDescription: String? { connection?.tlsDescription }

    public func webSocket(_ connection: WebSocketConnection, didReceive payload: UnsafeRawBufferPointer, opcode: Opcode) {
        messages.append((opcode, Array(payload)))
    }

    public func webSocket(_ connection: WebSocketConnection, didCloseWith outcome: CloseOutcome) {
        self.outcome = outcome
        session = connection.takeTLSSession()
    }

    private func step(timeout: Double, until done: () -> Bool, what: String) throws {
        let deadline = Instant.now.advanced(by: Nanoseconds.fromSeconds(timeout))
        while !done() {
            guard Instant.now < deadline else { throw Failure(description: "timed out after \(timeout) s waiting for \(what)") }
            loop.runOnce(maximumWait: Nanoseconds.milliseconds(10))
        }
    }

    /// Sends a text message.
    public func send(_ text: String) {
        connection?.send(text: text)
    }

    /// Sends a binary message.
    public func send(binary: [UInt8]) {
        binary.withUnsafeBytes { _ = connection?.send(binary: $0) }
    }

    /// Waits for the next message.
    public func receive(timeout: Double = 5) throws -> (opcode: Opcode, bytes: [UInt8]) {
        try step(timeout: timeout, until: { !self.messages.isEmpty || self.outcome != nil }, what: "a message")
        guard !messages.isEmpty else { throw Failure(description: "connection ended while waiting for a message: \(outcome!)") }
        return messages.removeFirst()
    }

    /// Waits for the next message and returns it as text.
    public func receiveText(timeout: Double = 5) throws -> String {
        String(decoding: try receive(timeout: timeout).bytes, as: UTF8.self)
    }

    /// Waits for messages until one satisfies `predicate` (discarding the others); returns it.
    public func receiveText(timeout: Double = 5, where predicate: (String) -> Bool) throws -> String {
        let deadline = Instant.now.advanced(by: Nanoseconds.fromSeconds(timeout))
        while true {
            let left = Double(Instant.now.nanoseconds(to: deadline)) / 1e9
            let text = try receiveText(timeout: max(0.001, left))
            if predicate(text) { return text }
        }
    }

    /// Fails if any message arrives within `seconds`.
    public func expectSilence(for seconds: Double) throws {
        let deadline = Instant.now.advanced(by: Nanoseconds.fromSeconds(seconds))
        while Instant.now < deadline {
            loop.runOnce(maximumWait: Nanoseconds.milliseconds(10))
            if let m = messages.first {
                throw Failure(description: "expected no message, got \"\(String(decoding: m.bytes.prefix(200), as: UTF8.self))\"")
            }
        }
    }

    /// Closes with a close handshake and waits for it.
    public func close(timeout: Double = 5) throws {
        connection?.close()
        try step(timeout: timeout, until: { self.outcome != nil }, what: "the close handshake")
    }

    /// Waits until the peer ends the connection; returns how it ended.
    public func waitForClose(timeout: Double = 5) throws -> CloseOutcome {
        try step(timeout: timeout, until: { self.outcome != nil }, what: "the connection to close")
        return outcome!
    }

    /// Tries to connect; returns how the attempt ended if it did not open (nil if it opened).
    public static func attempt(_ url: String, tls: ClientTLS? = nil, timeout: Double = 5) throws -> CloseOutcome? {
        let ws = try BlockingWebSocket(connecting: url, headers: [], subprotocols: [], tls: tls, timeout: timeout)
        if ws.opened {
            try ws.close()
            return nil
        }
        return ws.outcome
    }
}
