import Net

/// A coordinator-agent connection: framed messages over non-blocking TCP on an event loop.
/// Until `authenticated` is set, frames above 4 KiB are refused, so a stranger cannot make the
/// other side buffer much.
public final class WireConnection: WireChannel, EventHandler, TimerTarget {
    public let socket: Socket
    public unowned(unsafe) let loop: EventLoop
    public weak var delegate: WireChannelDelegate?
    /// The remote address.
    public let peer: SocketAddress?
    private var assembler = FrameAssembler()
    private var output = ByteQueue()
    private var connecting: Bool
    private var closeAfterFlush = false
    public private(set) var isClosed = false
    private var connectDeadlineToken: UInt64 = 0
    /// Bytes received and sent so far (control-plane cost).
    public private(set) var bytesReceived = 0
    public private(set) var bytesSent = 0

    public var peerDescription: String { peer.map { "\($0)" } ?? "the peer" }

    /// Raises the frame limit once the peer has proven it holds the token.
    public var authenticated = false {
        didSet { assembler.limit = authenticated ? WireFrame.maximumLength : WireFrame.maximumUnauthenticatedLength }
    }

    /// Adopts an accepted socket.
    public init(socket: Socket, peer: SocketAddress?, loop: EventLoop, delegate: WireChannelDelegate? = nil) throws(SocketError) {
        self.socket = socket
        self.peer = peer
        self.loop = loop
        self.delegate = delegate
        connecting = false
        socket.setNoDelay()
        try loop.register(fd: socket.fd, interest: .readable, handler: self)
    }

    private init(socket: Socket, peer: SocketAddress, loop: EventLoop, delegate: WireChannelDelegate, connecting: Bool) throws(SocketError) {
        self.socket = socket
        self.peer = peer
        self.loop = loop
        self.delegate = delegate
        self.connecting = connecting
        try loop.register(fd: socket.fd, interest: connecting ? .writable : .readable, handler: self)
    }

    /// Starts connecting to `address`; failures (refused, `timeout` passed) arrive as `wireClosed`.
    public static func connect(to address: SocketAddress, loop: EventLoop, delegate: WireChannelDelegate,
                               timeout: Int64 = Nanoseconds.seconds(5)) throws(SocketError) -> WireConnection {
        let (socket, connected) = try Socket.connect(to: address)
        let c = try WireConnection(socket: socket, peer: address, loop: loop, delegate: delegate, connecting: !connected)
        if !connected {
            c.connectDeadlineToken = 1
            loop.schedule(at: loop.clock.now().advanced(by: timeout), target: c, token: 1)
        }
        return c
    }

    public func timerFired(token: UInt64, now: Instant) {
        if connecting && token == connectDeadlineToken {
            close(reason: "connecting to \(peer.map { "\($0)" } ?? "the peer") timed out")
        }
    }

    /// Sends a message (queued if the socket is busy).
    public func send(_ message: WireMessage) {
        guard !isClosed else { return }
        let frame = WireFrame.encode(message.encode())
        bytesSent += frame.count
        frame.withUnsafeBytes { output.append($0) }
        if !connecting { flush() }
    }

    /// Sends `message`, then closes once it is written.
    public func send(_ message: WireMessage, thenClose: Bool) {
        send(message)
        if thenClose {
            closeAfterFlush = true
            if output.isEmpty { close(reason: nil) }
        }
    }

    private func flush() {
        while !output.isEmpty {
            switch socket.write(UnsafeRawBufferPointer(output.readable)) {
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
        if connecting {
            let code = socket.pendingError
            guard code == 0 else {
                close(reason: "\(SocketError("connect", address: peer, code: code))")
                return
            }
            connecting = false
            connectDeadlineToken = 0
            flush()
            if isClosed { return }
        }
        if events.contains(.writable) { flush() }
        guard !isClosed, !events.isDisjoint(with: [.readable, .hangup, .error]) else { return }
        switch socket.read(into: loop.readBuffer) {
        case let .transferred(n):
            bytesReceived += n
            assembler.append(UnsafeRawBufferPointer(rebasing: loop.readBuffer[0..<n]))
            deliver()
        case .wouldBlock:
            break
        case .endOfStream:
            close(reason: "the peer closed the connection")
        case let .failed(code):
            close(reason: "\(SocketError("read", address: peer, code: code))")
        }
    }

    private func deliver() {
        while !isClosed {
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
        guard !isClosed else { return }
        isClosed = true
        loop.deregister(fd: socket.fd, closing: true)
        socket.close()
        output.removeAll()
        delegate?.wireClosed(self, reason: reason)
    }
}
