import Net

/// How a connection ended. Every connection reports exactly one outcome.
public enum CloseOutcome: Equatable, Sendable, CustomStringConvertible {
    /// The close handshake completed. `code` and `reason` are the peer's (nil code: no status).
    case closed(initiatedLocally: Bool, code: UInt16?, reason: String)
    /// The TCP connection could not be established.
    case connectFailed(SocketError)
    /// The TLS handshake failed (certificate verification, protocol, timeout).
    case tlsFailed(TLSError)
    /// The client's opening handshake failed (non-101 status, bad headers...).
    case handshakeFailed(HandshakeError)
    /// The server refused the request (HTTP status sent), or answered it as plain HTTP.
    case answeredWithHTTP(status: Int)
    /// The peer broke the protocol; volley sent a close frame with the violation's code.
    case protocolViolation(WebSocketViolation)
    /// The TCP connection ended without a close handshake (reset, or end of stream).
    case connectionLost(SocketError?)
    /// A phase took too long: "connect", "handshake" or "close".
    case timedOut(String)
    /// Closed locally without a close handshake.
    case aborted

    public var description: String {
        switch self {
        case let .closed(local, code, reason):
            let c = code.map(String.init) ?? "no status"
            return "closed by \(local ? "us" : "peer") (\(c)\(reason.isEmpty ? "" : ", \"\(reason)\""))"
        case let .connectFailed(e): return "\(e)"
        case let .tlsFailed(e): return "\(e)"
        case let .handshakeFailed(e): return "handshake failed: \(e)"
        case let .answeredWithHTTP(status): return "answered with HTTP \(status)"
        case let .protocolViolation(v): return "protocol violation: \(v)"
        case let .connectionLost(e): return "connection lost\(e.map { ": \($0)" } ?? " without a close frame")"
        case let .timedOut(phase): return "\(phase) timed out"
        case .aborted: return "aborted"
        }
    }
}

/// Receives a connection's events, on the connection's event loop thread.
public protocol WebSocketDelegate: AnyObject {
    /// The TLS handshake completed (wss://) after `nanoseconds`, resuming an earlier session or not.
    func webSocketDidSecure(_ connection: WebSocketConnection, nanoseconds: Int64, resumed: Bool)
    /// The handshake completed; messages can be sent.
    func webSocketDidOpen(_ connection: WebSocketConnection)
    /// A complete text or binary message. `payload` is only valid during the call.
    func webSocket(_ connection: WebSocketConnection, didReceive payload: UnsafeRawBufferPointer, opcode: Opcode)
    /// A pong arrived (pings are answered automatically).
    func webSocket(_ connection: WebSocketConnection, didReceivePong payload: UnsafeRawBufferPointer)
    /// Everything buffered for sending has been written (after sends had to be queued).
    func webSocketDidDrain(_ connection: WebSocketConnection)
    /// The connection ended; called exactly once, after which the connection is unusable.
    func webSocket(_ connection: WebSocketConnection, didCloseWith outcome: CloseOutcome)
}

extension WebSocketDelegate {
    public func webSocketDidSecure(_ connection: WebSocketConnection, nanoseconds: Int64, resumed: Bool) {}
    public func webSocket(_ connection: WebSocketConnection, didReceivePong payload: UnsafeRawBufferPointer) {}
    public func webSocketDidDrain(_ connection: WebSocketConnection) {}
}

/// What a server does with a request it received.
public enum ServerRoute {
    /// Upgrade to WebSocket and hand the connection to `delegate`.
    case upgrade(WebSocketDelegate, subprotocol: String?)
    /// Answer with a plain HTTP response and close.
    case respond(status: Int, contentType: String, body: [UInt8])
}

/// Decides, for each request a server receives, whether to upgrade it and to which handler.
public protocol WebSocketRouter: AnyObject {
    /// Called on the connection's loop when its request head has arrived.
    func route(_ request: HTTPRequestHead, connection: WebSocketConnection) -> ServerRoute
    /// A wss:// connection completed its TLS handshake (before its request arrives).
    func connectionDidSecure(_ connection: WebSocketConnection, nanoseconds: Int64, resumed: Bool)
    /// A connection ended before it was upgraded: a failed TLS handshake, a refused or plain
    /// HTTP request, a timeout.
    func connectionDidEnd(_ connection: WebSocketConnection, beforeUpgrade outcome: CloseOutcome)
}

extension WebSocketRouter {
    public func connectionDidSecure(_ connection: WebSocketConnection, nanoseconds: Int64, resumed: Bool) {}
    public func connectionDidEnd(_ connection: WebSocketConnection, beforeUpgrade outcome: CloseOutcome) {}
}

/// Options of a client connection.
public struct ClientOptions: Sendable {
    public var subprotocols: [String] = []
    public var headers: [(name: String, value: String)] = []
    public var limits: WebSocketLimits = .standard
    /// Time allowed for TCP connect plus the opening handshake; nil when the owner enforces it
    /// (calling `expireOpen()`), which spares a timer per connection.
    public var openTimeout: Int64? = Nanoseconds.seconds(10)
    /// Time allowed for the close handshake and the TCP close after it.
    public var closeTimeout: Int64 = Nanoseconds.seconds(2)
    /// Local address to connect from (several give one host more than 64k connections).
    public var localAddress: IPAddress?
    /// The request's constant parts for this URL and headers, prepared once by owners that open
    /// many connections (then `headers` and `subprotocols` must match it).
    public var requestTemplate: ClientHandshake.RequestTemplate?
    /// TLS (wss://): nil for plain ws://.
    public var tls: ClientTLS?
    /// Offer permessage-deflate (the request template, if any, must carry the same offer).
    public var deflate: DeflateOffer?
    /// Where compressed connections count their message and wire bytes.
    public var compressionTally: CompressionTally?

    public init() {}
}

/// How a client secures its connection.
public struct ClientTLS: Sendable {
    /// Trust, verification and client identity, shared by many connections.
    public var context: TLSContext
    /// The name sent as SNI and checked against the certificate (default: the URL's host).
    public var serverName: String?
    /// A session from an earlier connection, to resume.
    public var session: TLSSession?

    public init(context: TLSContext, serverName: String? = nil, session: TLSSession? = nil) {
        self.context = context
        self.serverName = serverName
        self.session = session
    }
}

/// Options of server connections.
public struct ServerOptions: Sendable {
    public var limits: WebSocketLimits = .standard
    /// Time allowed to receive the request head.
    public var handshakeTimeout: Int64 = Nanoseconds.seconds(10)
    /// Time allowed for the close handshake.
    public var closeTimeout: Int64 = Nanoseconds.seconds(2)
    /// Serve wss:// with this certificate; nil for plain ws://.
    public var tls: TLSContext?
    /// Accept permessage-deflate offers (nil: never).
    public var deflate: DeflatePolicy? = DeflatePolicy()
    public var compressionTally: CompressionTally?

    public init() {}
}
