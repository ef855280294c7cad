import Net
#if canImport(Glibc)
import Glibc
#endif

/// A coordinator-agent connection: framed messages over TLS 1.3 keyed by the shared token
/// (`ControlChannelSecurity`), on non-blocking TCP on an event loop. Nothing readable crosses
/// the wire: not the scenario, not the feeder's rows, not the token. Until `authenticated` is
/// set, frames above 4 KiB are refused, so a stranger cannot make the other side buffer much.
public final class WireConnection: WireChannel, EventHandler, TimerTarget {
    /// Where the connection is, in order.
    enum Stage: Equatable {
        /// Coordinator: TCP connect in progress.
        case connecting
        /// Agent: accepted; waiting for the peer's first bytes to tell TLS from plaintext.
        case awaitingPeer
        /// The TLS handshake is in progress.
        case securing
        /// Messages flow.
        case open
        case closed
    }

    public let socket: Socket
    public unowned(unsafe) let loop: EventLoop
    public weak var delegate: WireChannelDelegate?
    /// The remote address.
    public let peer: SocketAddress?
    let role: Role
    let security: TLSContext
    var tls: TLSStream?
    var stage: Stage
    /// Set once the peer's first bytes were seen to be TLS.
    var peerSpeaksTLS = false
    private var assembler = FrameAssembler()
    private var output = ByteQueue()
    private var closeAfterFlush = false
    /// Bytes of messages received and sent so far (control-plane cost, before encryption).
    public private(set) var bytesReceived = 0
    public private(set) var bytesSent = 0

    /// Which end of the channel this is: the coordinator is the TLS client.
    enum Role { case coordinator, agent }

    static let deadlineToken: UInt64 = 1
    static let silenceToken: UInt64 = 2

    public var isClosed: Bool { stage == .closed }
    public var peerDescription: String { peer.map { "\($0)" } ?? "the peer" }

    /// Raises the frame limit once the peer has proven it holds the token.
    public var authenticated = false {
        didSet { assembler.limit = authenticated ? WireFrame.maximumLength : WireFrame.maximumUnauthenticatedLength }
    }

    /// Adopts a socket an agent accepted; `security` is the agent's channel context
    /// (`ControlChannelSecurity.agent(token:)`). A peer that says nothing within a second,
    /// or speaks plaintext, is told which protocol this agent speaks and closed.
    public init(socket: Socket, peer: SocketAddress?, loop: EventLoop, security: TLSContext,
                delegate: WireChannelDelegate? = nil) throws(SocketError) {
        self.socket = socket
        self.peer = peer
        self.loop = loop
        self.delegate = delegate
        self.security = security
        role = .agent
        stage = .awaitingPeer
        socket.setNoDelay()
        try loop.register(fd: socket.fd, interest: .readable, handler: self)
        loop.schedule(at: loop.clock.now().advanced(by: ControlChannelSecurity.silenceLimit), target: self, token: Self.silenceToken)
    }

    private init(socket: Socket, peer: SocketAddress, loop: EventLoop, security: TLSContext,
                 delegate: WireChannelDelegate, connected: Bool) throws(SocketError) {
        self.socket = socket
        self.peer = peer
        self.loop = loop
        self.delegate = delegate
        self.security = security
        role = .coordinator
        stage = .connecting
        socket.setNoDelay()
        try loop.register(fd: socket.fd, interest: connected ? .readable : .writable, handler: self)
    }

    /// Starts connecting to an agent at `address` with the coordinator's channel context
    /// (`ControlChannelSecurity.coordinator(token:)`); failures (refused, a failed
    /// handshake, `timeout` passed before the channel is secured) arrive as `wireClosed`.
    public static func connect(to address: SocketAddress, loop: EventLoop, security: TLSContext, delegate: WireChannelDelegate,
                               timeout: Int64 = Nanoseconds.seconds(5)) throws(SocketError) -> WireConnection {
        let (socket, connected) = try Socket.connect(to: address)
        let c = try WireConnection(socket: socket, peer: address, loop: loop, security: security, delegate: delegate, connected: connected)
        loop.schedule(at: loop.clock.now().advanced(by: timeout), target: c, token: Self.deadlineToken)
        if connected { c.startSecuring() }
        return c
    }

    public func timerFired(token: UInt64, now: Instant) {
        switch (token, stage) {
        case (Self.deadlineToken, .connecting):
            close(reason: "connecting to \(peerDescription) timed out")
        case (Self.deadlineToken, .securing):
            close(reason: "the encrypted handshake with \(peerDescription) timed out: is it a volley agent of this version?")
        case (Self.silenceToken, .awaitingPeer):
            refusePlaintext(peeked: [])
        default:
            break
        }
    }

    /// Sends a message (queued until the channel is secured, or while the socket is busy).
    public func send(_ message: WireMessage) {
        guard stage != .closed else { return }
        let frame = WireFrame.encode(message.encode())
        bytesSent += frame.count
        frame.withUnsafeBytes { output.append($0) }
        if stage == .open { flush() }
    }

    /// Sends `message`, then closes once it is written (at once if the channel never opened:
    /// nothing can be said to a peer that has not completed the handshake).
    public func send(_ message: WireMessage, thenClose: Bool) {
        send(message)
        guard thenClose else { return }
        closeAfterFlush = true
        if stage != .open || output.isEmpty { close(reason: nil) }
    }

    func flush() {
        while !output.isEmpty {
            let result = tls.map { $0.write(UnsafeRawBufferPointer(output.readable)) } ?? .wouldBlock
            switch result {
            case let .transferred(n):
                output.consume(n, keepStorage: true)
            case .wouldBlock, .endOfStream:
                loop.setInterest(fd: socket.fd, [.readable, .writable])
                return
            case let .failed(code):
                close(reason: "sending failed: \(SocketError("write", address: peer, code: code))")
                return
            }
        }
        loop.setInterest(fd: socket.fd, .readable)
        if closeAfterFlush { close(reason: nil) }
    }

    public func handleEvents(_ events: IOEvents) {
        switch stage {
        case .connecting:
            let code = socket.pendingError
            guard code == 0 else {
                close(reason: "\(SocketError("connect", address: peer, code: code))")
                return
            }
            startSecuring()
        case .awaitingPeer:
            examinePeer()
        case .securing:
            continueSecuring()
        case .open:
            if events.contains(.writable) { flush() }
            guard stage == .open, !events.isDisjoint(with: [.readable, .hangup, .error]) else { return }
            readAvailable()
        case .closed:
            break
        }
    }

    /// Reads every decrypted byte available (OpenSSL may hold records the socket no longer
    /// signals) and delivers the complete messages.
    func readAvailable() {
        guard let tls else { return }
        while stage == .open {
            switch tls.read(into: loop.readBuffer) {
            case let .transferred(n):
                bytesReceived += n
                assembler.append(UnsafeRawBufferPointer(rebasing: loop.readBuffer[0..<n]))
                deliver()
            case .wouldBlock:
                return
            case .endOfStream:
                close(reason: "the peer closed the connection")
            case let .failed(code):
                close(reason: code == EPROTO ? "the encrypted channel failed: a record did not decrypt, or the peer sent a fatal alert"
                                             : "\(SocketError("read", address: peer, code: code))")
            }
        }
    }

    private func deliver() {
        while stage == .open {
            let payload: [UInt8]
            do {
                guard let next = try assembler.next() else { return }
                payload = next
            } catch {
                close(reason: "protocol error: \(error)")
                return
            }
            do {
                let message = try WireMessage.decode(payload)
                delegate?.wire(self, received: message)
            } catch {
                close(reason: "protocol error: \(error)")
                return
            }
        }
    }

    /// Closes the connection; the delegate hears `wireClosed` once.
    public func close(reason: String?) {
        guard stage != .closed else { return }
        let wasOpen = stage == .open
        stage = .closed
        if wasOpen, reason == nil { tls?.shutdown() }
        loop.deregister(fd: socket.fd, closing: true)
        socket.close()
        tls = nil
        output.removeAll()
        delegate?.wireClosed(self, reason: reason)
    }
}
