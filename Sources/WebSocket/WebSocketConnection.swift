import ByteCoding
import Net
#if canImport(Glibc)
import Glibc
#endif

/// One WebSocket connection (client or server end) on one event loop.
///
/// The connection owns its socket and moves through explicit phases:
/// connecting → (securing) → handshaking → open → closing → draining → closed. Received data is parsed in
/// place in the loop's shared read buffer; only bytes of an incomplete frame are copied into the
/// connection, and buffers are freed as soon as they are empty, so an idle connection holds no
/// buffer memory. Every method must be called on the connection's loop thread.
public final class WebSocketConnection: EventHandler, TimerTarget {
    /// Where a connection is in its life.
    public enum Phase: UInt8, Sendable {
        /// TCP connect in progress (client).
        case connecting
        /// TLS handshake in progress (wss://).
        case securing
        /// Waiting for the handshake response (client) or request (server).
        case handshaking
        /// Messages flow both ways.
        case open
        /// We sent a close frame and wait for the peer's.
        case closing
        /// The conversation is over; flushing output and waiting for the TCP close.
        case draining
        /// The socket is closed.
        case closed
    }

    /// The connection's socket.
    public let socket: Socket
    /// The loop that owns the connection. (Loops outlive their connections.)
    public unowned(unsafe) let loop: EventLoop
    /// Client or server end.
    public let role: Role
    /// Current phase.
    public internal(set) var phase: Phase
    /// Receives events; cleared when the connection closes (which breaks any reference cycle).
    public var delegate: (any WebSocketDelegate)?
    /// The subprotocol agreed in the handshake, if any.
    public var subprotocol: String? { extras?.subprotocol }
    /// Free for the owner's use (e.g. an index into its own tables).
    public var tag: Int = 0

    var inbound: InboundProtocol
    /// TLS over the socket (wss://), nil on plain connections.
    var tls: TLSStream?
    /// permessage-deflate, when negotiated.
    var compression: MessageCompression?
    var input = ByteQueue()
    var output = ByteQueue()
    /// Bytes that must be buffered before parsing is worth trying again (a frame larger than what arrived).
    var inputNeeded: UInt32 = 0
    /// Fail-fast UTF-8 state of a text frame that has only partly arrived: bytes checked so far.
    var pendingTextChecked: UInt32 = 0
    var pendingTextValidator = UTF8Validator()
    var flags: Flags = []
    var timerGeneration: UInt32 = 0
    let closeTimeoutMillis: UInt32
    /// Handshake-time state, dropped once the connection is open.
    var handshake: HandshakeState?
    /// State few connections need (a negotiated subprotocol, a fragmented message being
    /// reassembled), allocated on first use so an idle connection stays small.
    var extras: Extras?

    struct Flags: OptionSet {
        let rawValue: UInt8
        static let closeReported = Flags(rawValue: 1)
        static let processing = Flags(rawValue: 2)
        static let sentClose = Flags(rawValue: 4)
        static let drainNotificationWanted = Flags(rawValue: 8)
        static let pendingText = Flags(rawValue: 16)
        static let closeAfterFlush = Flags(rawValue: 32)
        static let receivedData = Flags(rawValue: 64)
        /// A TLS client just secured: release OpenSSL's buffers after reads until it is open.
        static let watchingTickets = Flags(rawValue: 128)
    }

    final class Extras {
        var subprotocol: String?
        /// The fragments of a message in progress.
        var message = ByteQueue()
    }

    var more: Extras {
        if let extras { return extras }
        let created = Extras()
        extras = created
        return created
    }

    /// Server payloads up to this size are copied behind their header and sent with one send().
    static let copyThreshold = 16 * 1024

    /// The high-water mark above which `isWritable` turns false and the sender should pause.
    public static let outputHighWater = 1 << 20

    final class HandshakeState {
        let url: WebSocketURL?
        /// The Sec-WebSocket-Key's 24 ASCII bytes, inline (clients only).
        var keyBytes: (UInt64, UInt64, UInt64) = (0, 0, 0)
        /// The request's constant parts, when the owner prepared them.
        var template: ClientHandshake.RequestTemplate?
        let subprotocols: [String]
        let router: WebSocketRouter?
        let peer: SocketAddress?
        /// Extra request headers (clients), until the request is written.
        var headers: [(name: String, value: String)] = []
        /// When TCP was connected and the TLS handshake began.
        var securingStarted: Instant?
        /// The permessage-deflate offer (clients) or policy (servers), and the tally to count in.
        var deflateOffer: DeflateOffer?
        var deflatePolicy: DeflatePolicy?
        var compressionTally: CompressionTally?
        /// The key as text (for the slow paths).
        var key: String { withUnsafeBytes(of: keyBytes) { String(decoding: $0, as: UTF8.self) } }

        init(url: WebSocketURL?, subprotocols: [String], router: WebSocketRouter?, peer: SocketAddress?) {
            self.url = url
            self.subprotocols = subprotocols
            self.router = router
            self.peer = peer
        }
    }

    init(socket: Socket, loop: EventLoop, role: Role, phase: Phase, limits: WebSocketLimits, closeTimeout: Int64) {
        self.socket = socket
        self.loop = loop
        self.role = role
        self.phase = phase
        closeTimeoutMillis = UInt32(clamping: closeTimeout / 1_000_000)
        inbound = InboundProtocol(role: role, limits: limits)
    }


    /// Starts a client connection to `address` for `url`. Failures after this call returns
    /// (refused, timeout, handshake) reach `delegate` as a `CloseOutcome`; only a failure to even
    /// create the socket throws.
    public static func connect(to address: SocketAddress, url: WebSocketURL, on loop: EventLoop,
                               options: ClientOptions = ClientOptions(),
                               delegate: WebSocketDelegate) throws(SocketError) -> WebSocketConnection {
        let (socket, connected) = try Socket.connect(to: address, from: options.localAddress)
        return try connect(socket: socket, connected: connected, peer: address, url: url, on: loop, options: options, delegate: delegate)
    }

    /// Starts the client side on a socket that is connected or connecting to `peer` (made by
    /// the caller: a load generator's own dialing, or one end of a socket pair in tests).
    public static func connect(socket: Socket, connected: Bool, peer address: SocketAddress?, url: WebSocketURL, on loop: EventLoop,
                               options: ClientOptions = ClientOptions(),
                               delegate: WebSocketDelegate) throws(SocketError) -> WebSocketConnection {
        let connection = WebSocketConnection(socket: socket, loop: loop, role: .client, phase: .connecting,
                                             limits: options.limits, closeTimeout: options.closeTimeout)
        connection.delegate = delegate
        let handshake = HandshakeState(url: url, subprotocols: options.subprotocols, router: nil, peer: address)
        var nonce = (loop.nextRandom(), loop.nextRandom())
        withUnsafeBytes(of: &nonce) { raw in
            withUnsafeMutableBytes(of: &handshake.keyBytes) { _ = Base64.encode(raw, into: $0) }
        }
        handshake.headers = options.headers
        handshake.template = options.requestTemplate
        handshake.deflateOffer = options.deflate
        handshake.compressionTally = options.compressionTally
        connection.handshake = handshake
        if let tls = options.tls {
            do {
                connection.tls = try TLSStream(client: tls.context, socket: socket, serverName: tls.serverName ?? url.host,
                                               verifyName: true, session: tls.session)
            } catch {
                socket.close()
                throw SocketError("TLS setup", code: EPROTO)
            }
        }
        do {
            try loop.register(fd: socket.fd, interest: connected || options.tls == nil ? .readable : .writable, handler: connection)
        } catch {
            socket.close()
            throw error
        }
        if let timeout = options.openTimeout { connection.startTimer(after: timeout) }
        if options.tls != nil {
            // TLS speaks first once TCP is up; until then the connect's completion is awaited.
            if connected { connection.startSecuring() }
            return connection
        }
        // Write the request at once: on loopback and fast networks the connection is usually
        // established already. If it is not, the write reports EAGAIN and the request waits in
        // the output queue for writability (which is also when a failed connect shows).
        connection.sendHandshakeRequest(connected: connected)
        return connection
    }

    /// Adopts an accepted server socket; the request is routed by `router` when it arrives.
    public static func accept(_ socket: Socket, peer: SocketAddress?, on loop: EventLoop, router: WebSocketRouter,
                              options: ServerOptions = ServerOptions()) throws(SocketError) -> WebSocketConnection {
        let connection = WebSocketConnection(socket: socket, loop: loop, role: .server, phase: .handshaking,
                                             limits: options.limits, closeTimeout: options.closeTimeout)
        connection.handshake = HandshakeState(url: nil, subprotocols: [], router: router, peer: peer)
        connection.handshake?.deflatePolicy = options.deflate
        connection.handshake?.compressionTally = options.compressionTally
        if let context = options.tls {
            do {
                connection.tls = try TLSStream(server: context, socket: socket)
            } catch {
                throw SocketError("TLS setup", code: EPROTO)
            }
            connection.phase = .securing
            connection.handshake?.securingStarted = loop.clock.now()
        }
        try loop.register(fd: socket.fd, interest: .readable, handler: connection)
        connection.startTimer(after: options.handshakeTimeout)
        return connection
    }

    /// The peer's address, while the handshake is in progress (servers) or the target (clients).
    public var peerAddress: SocketAddress? { handshake?.peer }


    /// Starts the close handshake (or, before the connection is open, abandons it).
    public func close(code: UInt16 = CloseCode.normal, reason: String = "") {
        switch phase {
        case .connecting, .securing, .handshaking:
            finish(.aborted)
        case .open:
            sendClose(code: code, reason: reason)
            phase = .closing
            startTimer(after: Int64(closeTimeoutMillis) * 1_000_000)
        case .closing, .draining, .closed:
            break
        }
    }

    /// Fails a connection still connecting or handshaking with a timeout (for owners that
    /// enforce the open timeout themselves).
    public func expireOpen() {
        switch phase {
        case .connecting: finish(.timedOut("connect"))
        case .securing: finish(.tlsFailed(TLSError(.timeout, "no TLS handshake in time")))
        case .handshaking: finish(.timedOut("handshake"))
        default: break
        }
    }

    /// Closes the socket at once, without a close handshake. `reset` sends RST instead of FIN.
    public func abort(reset: Bool = false) {
        guard phase != .closed else { return }
        if reset { socket.setResetOnClose() }
        finish(.aborted)
    }




    func startTimer(after nanoseconds: Int64) {
        timerGeneration &+= 1
        loop.schedule(at: loop.clock.now().advanced(by: nanoseconds), target: self, token: UInt64(timerGeneration))
    }

    public func timerFired(token: UInt64, now: Instant) {
        guard token == UInt64(timerGeneration) else { return }
        switch phase {
        case .connecting: finish(.timedOut("connect"))
        case .securing: finish(.tlsFailed(TLSError(.timeout, "no TLS handshake in time")))
        case .handshaking: finish(.timedOut("handshake"))
        case .closing: finish(.timedOut("close"))
        case .draining: finish(nil)
        case .open, .closed: break
        }
    }

    func report(_ outcome: CloseOutcome) {
        guard !flags.contains(.closeReported) else { return }
        flags.insert(.closeReported)
        if let delegate {
            delegate.webSocket(self, didCloseWith: outcome)
        } else if let router = handshake?.router {
            // A server connection that ended before it was upgraded (TLS failure, refusal).
            router.connectionDidEnd(self, beforeUpgrade: outcome)
        }
    }

    /// Closes the socket and, unless already reported, reports `outcome`.
    func finish(_ outcome: CloseOutcome?) {
        guard phase != .closed else { return }
        if tls != nil { endTLS(clean: phase == .draining || phase == .closing) }
        phase = .closed
        timerGeneration &+= 1
        loop.deregister(fd: socket.fd, closing: true)
        socket.close()
        output.removeAll()
        extras?.message.removeAll()
        if !flags.contains(.processing) { input.removeAll() }
        if let outcome { report(outcome) } else { report(.aborted) }
        handshake = nil
        delegate = nil
        tls = nil
        compression = nil
    }
}

/// The loop's generator as a `RandomNumberGenerator`, for handshake keys.
struct LoopRandom: RandomNumberGenerator {
    unowned(unsafe) let loop: EventLoop
    mutating func next() -> UInt64 { loop.nextRandom() }
}
