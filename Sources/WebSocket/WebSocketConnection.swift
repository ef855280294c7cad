import ByteCoding
import Net

/// One WebSocket connection (client or server end) on one event loop.
///
/// The connection owns its socket and moves through explicit phases:
/// connecting → handshaking → open → closing → draining → closed. Received data is parsed in
/// place in the loop's shared read buffer; only bytes of an incomplete frame are copied into the
/// connection, and buffers are freed as soon as they are empty, so an idle connection holds no
/// buffer memory. Every method must be called on the connection's loop thread.
public final class WebSocketConnection: EventHandler, TimerTarget {
    /// Where a connection is in its life.
    public enum Phase: UInt8, Sendable {
        /// TCP connect in progress (client).
        case connecting
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
    public private(set) var phase: Phase
    /// Receives events; cleared when the connection closes (which breaks any reference cycle).
    public var delegate: (any WebSocketDelegate)?
    /// The subprotocol agreed in the handshake, if any.
    public var subprotocol: String? { extras?.subprotocol }
    /// Free for the owner's use (e.g. an index into its own tables).
    public var tag: Int = 0

    private var inbound: InboundProtocol
    private var input = ByteQueue()
    private var output = ByteQueue()
    /// Bytes that must be buffered before parsing is worth trying again (a frame larger than what arrived).
    private var inputNeeded: UInt32 = 0
    /// Fail-fast UTF-8 state of a text frame that has only partly arrived: bytes checked so far.
    private var pendingTextChecked: UInt32 = 0
    private var pendingTextValidator = UTF8Validator()
    private var flags: Flags = []
    private var timerGeneration: UInt32 = 0
    private let closeTimeoutMillis: UInt32
    /// Handshake-time state, dropped once the connection is open.
    private var handshake: HandshakeState?
    /// State few connections need (a negotiated subprotocol, a fragmented message being
    /// reassembled), allocated on first use so an idle connection stays small.
    private var extras: Extras?

    private struct Flags: OptionSet {
        let rawValue: UInt8
        static let closeReported = Flags(rawValue: 1)
        static let processing = Flags(rawValue: 2)
        static let sentClose = Flags(rawValue: 4)
        static let drainNotificationWanted = Flags(rawValue: 8)
        static let pendingText = Flags(rawValue: 16)
        static let closeAfterFlush = Flags(rawValue: 32)
        static let receivedData = Flags(rawValue: 64)
    }

    private final class Extras {
        var subprotocol: String?
        /// The fragments of a message in progress.
        var message = ByteQueue()
    }

    private var more: Extras {
        if let extras { return extras }
        let created = Extras()
        extras = created
        return created
    }

    /// Server payloads up to this size are copied behind their header and sent with one send().
    static let copyThreshold = 16 * 1024

    /// The high-water mark above which `isWritable` turns false and the sender should pause.
    public static let outputHighWater = 1 << 20

    private final class HandshakeState {
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
        /// The key as text (for the slow paths).
        var key: String { withUnsafeBytes(of: keyBytes) { String(decoding: $0, as: UTF8.self) } }

        init(url: WebSocketURL?, subprotocols: [String], router: WebSocketRouter?, peer: SocketAddress?) {
            self.url = url
            self.subprotocols = subprotocols
            self.router = router
            self.peer = peer
        }
    }

    private init(socket: Socket, loop: EventLoop, role: Role, phase: Phase, limits: WebSocketLimits, closeTimeout: Int64) {
        self.socket = socket
        self.loop = loop
        self.role = role
        self.phase = phase
        closeTimeoutMillis = UInt32(clamping: closeTimeout / 1_000_000)
        inbound = InboundProtocol(role: role, limits: limits)
    }

    // MARK: Opening

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
        connection.handshake = handshake
        do {
            try loop.register(fd: socket.fd, interest: .readable, handler: connection)
        } catch {
            socket.close()
            throw error
        }
        if let timeout = options.openTimeout { connection.startTimer(after: timeout) }
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
        try loop.register(fd: socket.fd, interest: .readable, handler: connection)
        connection.startTimer(after: options.handshakeTimeout)
        return connection
    }

    /// The peer's address, while the handshake is in progress (servers) or the target (clients).
    public var peerAddress: SocketAddress? { handshake?.peer }

    // MARK: Sending

    /// True while queued output is below the high-water mark.
    @inlinable
    public var isWritable: Bool { bufferedAmount < Self.outputHighWater }

    /// Bytes accepted for sending but not yet written to the socket.
    public var bufferedAmount: Int { output.count }

    /// Sends a text message (the bytes must be UTF-8). False if the connection is not open.
    @discardableResult
    @inlinable
    public func send(text payload: UnsafeRawBufferPointer) -> Bool {
        send(.text, payload)
    }

    /// Sends a binary message. False if the connection is not open.
    @discardableResult
    @inlinable
    public func send(binary payload: UnsafeRawBufferPointer) -> Bool {
        send(.binary, payload)
    }

    /// Sends one frame (use `fin: false` and `.continuation` to fragment). False if not open.
    @discardableResult
    public func send(_ opcode: Opcode, _ payload: UnsafeRawBufferPointer, fin: Bool = true) -> Bool {
        guard phase == .open else { return false }
        return writeFrame(opcode, payload, fin: fin)
    }

    /// A complete frame (header, masked payload for clients) built now, to be sent later with
    /// `sendPrepared` at an exact instant: the release of a barrier costs one write per user.
    public func prepareFrame(_ opcode: Opcode, _ payload: UnsafeRawBufferPointer) -> [UInt8] {
        let key: UInt32? = role == .client ? UInt32(truncatingIfNeeded: loop.nextRandom()) : nil
        let header = FrameHeader(fin: true, opcode: opcode.rawValue, maskingKey: key, payloadLength: UInt64(payload.count))
        var frame = [UInt8](repeating: 0, count: header.length + payload.count)
        frame.withUnsafeMutableBytes { buffer in
            let n = header.encode(into: buffer.baseAddress!)
            if let key {
                Masking.copy(payload, to: buffer.baseAddress! + n, key: key)
            } else if payload.count > 0 {
                (buffer.baseAddress! + n).copyMemory(from: payload.baseAddress!, byteCount: payload.count)
            }
        }
        return frame
    }

    /// Sends a frame made by `prepareFrame`. False if the connection is not open.
    @discardableResult
    public func sendPrepared(_ frame: [UInt8]) -> Bool {
        guard phase == .open else { return false }
        return frame.withUnsafeBytes { write($0) }
    }

    /// Sends a text message from a String (convenience, off the hot path).
    @discardableResult
    public func send(text: String) -> Bool {
        var text = text
        return text.withUTF8 { send(.text, UnsafeRawBufferPointer($0)) }
    }

    /// Sends a ping with up to 125 bytes of payload.
    @discardableResult
    public func ping(_ payload: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)) -> Bool {
        guard phase == .open, payload.count <= 125 else { return false }
        return writeFrame(.ping, payload, fin: true)
    }

    /// Starts the close handshake (or, before the connection is open, abandons it).
    public func close(code: UInt16 = CloseCode.normal, reason: String = "") {
        switch phase {
        case .connecting, .handshaking:
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

    private func sendClose(code: UInt16, reason: String) {
        guard !flags.contains(.sentClose) else { return }
        flags.insert(.sentClose)
        var payload: [UInt8] = [UInt8(code >> 8), UInt8(code & 0xFF)]
        payload += Array(reason.utf8.prefix(123))
        payload.withUnsafeBytes { _ = writeFrame(.close, $0, fin: true) }
    }

    @usableFromInline
    func writeFrame(_ opcode: Opcode, _ payload: UnsafeRawBufferPointer, fin: Bool) -> Bool {
        switch role {
        case .client:
            let key = UInt32(truncatingIfNeeded: loop.nextRandom())
            let header = FrameHeader(fin: fin, opcode: opcode.rawValue, maskingKey: key, payloadLength: UInt64(payload.count))
            let total = header.length + payload.count
            let buffer = loop.scratch(atLeast: total)
            let headerLength = header.encode(into: buffer.baseAddress!)
            Masking.copy(payload, to: buffer.baseAddress! + headerLength, key: key)
            return write(UnsafeRawBufferPointer(rebasing: buffer[0..<total]))
        case .server:
            let header = FrameHeader(fin: fin, opcode: opcode.rawValue, payloadLength: UInt64(payload.count))
            if payload.count <= Self.copyThreshold {
                // One contiguous send() is cheaper in the kernel than a two-element sendmsg, and
                // copying a small payload costs less than the difference.
                let total = header.length + payload.count
                let buffer = loop.scratch(atLeast: total)
                let headerLength = header.encode(into: buffer.baseAddress!)
                if payload.count > 0 {
                    (buffer.baseAddress! + headerLength).copyMemory(from: payload.baseAddress!, byteCount: payload.count)
                }
                return write(UnsafeRawBufferPointer(rebasing: buffer[0..<total]))
            }
            return withUnsafeTemporaryAllocation(byteCount: FrameHeader.maximumLength, alignment: 8) { raw in
                let n = header.encode(into: raw.baseAddress!)
                return write(UnsafeRawBufferPointer(rebasing: raw[0..<n]), payload)
            }
        }
    }

    /// Writes now if nothing is queued, queueing what the socket does not take.
    private func write(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard output.isEmpty else {
            output.append(bytes)
            return true
        }
        switch socket.write(bytes) {
        case let .transferred(n):
            if n < bytes.count { queue(UnsafeRawBufferPointer(rebasing: bytes[n...])) }
            return true
        case .wouldBlock, .endOfStream:
            queue(bytes)
            return true
        case let .failed(code):
            finish(.connectionLost(SocketError("write", code: code)))
            return false
        }
    }

    /// Writes header and payload with one system call when nothing is queued.
    private func write(_ header: UnsafeRawBufferPointer, _ payload: UnsafeRawBufferPointer) -> Bool {
        guard output.isEmpty else {
            output.append(header)
            output.append(payload)
            return true
        }
        switch socket.write(header, payload) {
        case let .transferred(n):
            if n < header.count {
                queue(UnsafeRawBufferPointer(rebasing: header[n...]))
                output.append(payload)
            } else if n < header.count + payload.count {
                queue(UnsafeRawBufferPointer(rebasing: payload[(n - header.count)...]))
            }
            return true
        case .wouldBlock, .endOfStream:
            queue(header)
            output.append(payload)
            return true
        case let .failed(code):
            finish(.connectionLost(SocketError("write", code: code)))
            return false
        }
    }

    private func queue(_ bytes: UnsafeRawBufferPointer) {
        output.append(bytes)
        flags.insert(.drainNotificationWanted)
        updateInterest()
    }

    private func flushOutput() {
        while !output.isEmpty {
            switch socket.write(UnsafeRawBufferPointer(output.readable)) {
            case let .transferred(n):
                output.consume(n)
            case .wouldBlock, .endOfStream:
                return
            case let .failed(code):
                finish(.connectionLost(SocketError("write", code: code)))
                return
            }
        }
        updateInterest()
        if phase == .draining && (role == .server || flags.contains(.closeAfterFlush)) {
            finish(nil)
            return
        }
        if flags.contains(.drainNotificationWanted) && phase == .open {
            flags.remove(.drainNotificationWanted)
            delegate?.webSocketDidDrain(self)
        }
    }


    private func updateInterest() {
        guard phase != .closed else { return }
        var interest: IOEvents = phase == .connecting ? .writable : .readable
        if !output.isEmpty { interest.insert(.writable) }
        loop.setInterest(fd: socket.fd, interest)
    }

    // MARK: Events

    public func handleEvents(_ events: IOEvents) {
        if phase == .connecting {
            if !events.isDisjoint(with: .connectDone) { completeConnect() }
            if phase != .handshaking { return }
        }
        if events.contains(.writable) && !output.isEmpty {
            flushOutput()
            if phase == .closed { return }
        }
        if !events.isDisjoint(with: .readableOrClosed) {
            readAvailable()
        }
    }

    /// The socket became writable (or failed) while connecting: the connect is settled.
    private func completeConnect() {
        let code = socket.pendingError
        guard code == 0 else {
            finish(.connectFailed(SocketError("connect", address: handshake?.peer, code: code)))
            return
        }
        phase = .handshaking
        flushOutput()
    }

    /// Writes the upgrade request; if the connect is still in progress it stays queued.
    private func sendHandshakeRequest(connected: Bool) {
        guard let handshake, let url = handshake.url else { return }
        if let template = handshake.template {
            let buffer = loop.scratch(atLeast: template.length)
            let n = withUnsafeBytes(of: handshake.keyBytes) { template.write(key: $0, into: buffer) }
            writeRequest(UnsafeRawBufferPointer(rebasing: buffer[0..<n]), handshake)
        } else {
            let request = ClientHandshake.request(url: url, key: handshake.key, subprotocols: handshake.subprotocols,
                                                  headers: handshake.headers)
            request.withUnsafeBytes { writeRequest($0, handshake) }
        }
        handshake.headers = []
    }

    private func writeRequest(_ request: UnsafeRawBufferPointer, _ handshake: HandshakeState) {
        switch socket.write(request) {
        case let .transferred(n):
            phase = .handshaking
            if n < request.count { queue(UnsafeRawBufferPointer(rebasing: request[n...])) }
        case .wouldBlock, .endOfStream:
            // Still connecting (the kernel says EAGAIN until the TCP handshake completes).
            phase = .connecting
            queue(request)
        case let .failed(code):
            finish(.connectFailed(SocketError("connect", address: handshake.peer, code: code)))
        }
    }

    private func readAvailable() {
        let buffer = loop.readBuffer
        switch socket.read(into: buffer) {
        case let .transferred(n):
            flags.insert(.receivedData)
            let received = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<n])
            if input.isEmpty {
                let consumed = process(received)
                if consumed < n && phase != .closed {
                    input.append(UnsafeRawBufferPointer(rebasing: received[consumed...]))
                }
            } else {
                input.append(UnsafeRawBufferPointer(received))
                if input.count < Int(inputNeeded) && flags.contains(.pendingText), case let .header(header) = FrameHeader.parse(UnsafeRawBufferPointer(input.readable)) {
                    flags.insert(.processing)
                    _ = validateIncompleteText(header, input.readable)
                    flags.remove(.processing)
                    if phase == .closed { input.removeAll() }
                } else if input.count >= Int(inputNeeded) {
                    flags.insert(.processing)
                    let consumed = process(input.readable)
                    flags.remove(.processing)
                    if phase == .closed {
                        input.removeAll()
                    } else {
                        input.consume(consumed)
                    }
                }
            }
        case .wouldBlock:
            return
        case .endOfStream:
            endOfStream()
        case let .failed(code):
            if phase == .handshaking && role == .client && !flags.contains(.receivedData) {
                // A refused or unreachable connect surfaces here when the request went out at once.
                finish(.connectFailed(SocketError("connect", address: handshake?.peer, code: code)))
            } else {
                finish(.connectionLost(SocketError("read", code: code)))
            }
        }
    }

    private func endOfStream() {
        switch phase {
        case .handshaking where role == .client:
            finish(.handshakeFailed(.connectionClosed))
        case .handshaking:
            finish(.connectionLost(nil))
        case .open:
            finish(.connectionLost(nil))
        case .closing:
            finish(.closed(initiatedLocally: true, code: nil, reason: ""))
        case .draining:
            finish(nil)
        case .connecting, .closed:
            break
        }
    }

    /// Handles received bytes; returns how many were consumed (the rest is an incomplete unit).
    private func process(_ bytes: UnsafeMutableRawBufferPointer) -> Int {
        var offset = 0
        if phase == .handshaking {
            offset = processHandshake(bytes)
            if phase != .open { return offset }
        }
        if phase == .draining { return bytes.count }
        return offset + processFrames(UnsafeMutableRawBufferPointer(rebasing: bytes[offset...]))
    }

    private func processFrames(_ bytes: UnsafeMutableRawBufferPointer) -> Int {
        var offset = 0
        inputNeeded = 0
        while phase == .open || phase == .closing {
            let remaining = UnsafeMutableRawBufferPointer(rebasing: bytes[offset...])
            switch FrameHeader.parse(UnsafeRawBufferPointer(remaining)) {
            case .incomplete:
                inputNeeded = UInt32(clamping: remaining.count + 1)
                return offset
            case .invalidLength:
                fail(.invalidPayloadLength)
                return bytes.count
            case let .header(header):
                if let violation = inbound.check(header) {
                    fail(violation)
                    return bytes.count
                }
                let total = header.length + Int(header.payloadLength)
                guard remaining.count >= total else {
                    inputNeeded = UInt32(clamping: total)
                    if !validateIncompleteText(header, remaining) { return bytes.count }
                    return offset
                }
                flags.remove(.pendingText)
                let payload = UnsafeMutableRawBufferPointer(rebasing: remaining[header.length..<total])
                if let key = header.maskingKey { Masking.apply(key: key, to: payload) }
                offset += total
                handleFrame(header, UnsafeRawBufferPointer(payload))
            }
        }
        return bytes.count
    }

    /// Checks the UTF-8 of a text frame that is still arriving, so invalid text fails fast.
    /// Only bytes not checked before are looked at (unmasked into a copy: the buffered frame
    /// stays as received), so a large frame arriving in many reads is checked once in total.
    private func validateIncompleteText(_ header: FrameHeader, _ bytes: UnsafeMutableRawBufferPointer) -> Bool {
        let opcode = Opcode(rawValue: header.opcode)
        guard opcode == .text || (opcode == .continuation && inbound.fragmentedOpcode == .text) else { return true }
        if !flags.contains(.pendingText) {
            flags.insert(.pendingText)
            pendingTextChecked = 0
            pendingTextValidator = opcode == .continuation ? inbound.fragmentedTextValidator : UTF8Validator()
        }
        let available = bytes.count - header.length
        var checked = Int(pendingTextChecked)
        guard available > checked else { return true }
        let ok: Bool = withUnsafeTemporaryAllocation(byteCount: 4096, alignment: 8) { chunk in
            while checked < available {
                let n = Swift.min(4096, available - checked)
                let start = header.length + checked
                let piece = UnsafeMutableRawBufferPointer(rebasing: chunk[0..<n])
                piece.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[start..<(start + n)]))
                if let key = header.maskingKey { Masking.apply(key: key, to: piece, phase: checked & 3) }
                if !pendingTextValidator.validate(UnsafeRawBufferPointer(piece)) { return false }
                checked += n
            }
            return true
        }
        pendingTextChecked = UInt32(clamping: checked)
        if !ok { fail(.invalidUTF8) }
        return ok
    }

    private func handleFrame(_ header: FrameHeader, _ payload: UnsafeRawBufferPointer) {
        switch inbound.receive(header, payload: payload) {
        case let .message(opcode):
            if phase == .open { delegate?.webSocket(self, didReceive: payload, opcode: opcode) }
        case let .fragment(opcode, isFinal):
            let assembly = more
            assembly.message.append(payload)
            if isFinal {
                if phase == .open { delegate?.webSocket(self, didReceive: UnsafeRawBufferPointer(assembly.message.readable), opcode: opcode) }
                assembly.message.removeAll()
            }
        case .ping:
            if phase == .open { _ = writeFrame(.pong, payload, fin: true) }
        case .pong:
            delegate?.webSocket(self, didReceivePong: payload)
        case let .close(code):
            let reason = payload.count > 2 ? String(decoding: payload[2...], as: UTF8.self) : ""
            peerClosed(code: code, reason: reason)
        case let .violation(violation):
            fail(violation)
        }
    }

    private func peerClosed(code: UInt16?, reason: String) {
        let initiatedLocally = phase == .closing
        if !initiatedLocally {
            // Echo the peer's status code, as RFC 6455 section 5.5.1 suggests.
            sendClose(code: code ?? CloseCode.normal, reason: "")
        }
        report(.closed(initiatedLocally: initiatedLocally, code: code, reason: reason))
        enterDraining()
    }

    /// Fails the connection for a peer's protocol violation: close frame with the right code, then TCP close.
    private func fail(_ violation: WebSocketViolation) {
        if phase == .open || phase == .closing {
            sendClose(code: violation.closeCode, reason: "")
        }
        report(.protocolViolation(violation))
        flags.insert(.closeAfterFlush)
        enterDraining()
    }

    /// After the close handshake: servers close TCP once output is flushed; clients wait for the
    /// server's TCP close (RFC 6455 section 7.1.1), both bounded by the close timeout.
    private func enterDraining() {
        guard phase != .closed else { return }
        phase = .draining
        extras?.message.removeAll()
        startTimer(after: Int64(closeTimeoutMillis) * 1_000_000)
        if output.isEmpty && (role == .server || flags.contains(.closeAfterFlush)) {
            finish(nil)
        } else {
            updateInterest()
        }
    }

    // MARK: Handshake

    private func processHandshake(_ bytes: UnsafeMutableRawBufferPointer) -> Int {
        let scan = HTTPHeadParser.scan(UnsafeRawBufferPointer(bytes))
        switch scan {
        case .incomplete:
            inputNeeded = UInt32(clamping: bytes.count + 1)
            return 0
        case .tooLarge:
            if role == .client {
                finish(.handshakeFailed(.responseTooLarge))
            } else {
                respond(status: 431, body: Array("request head too large".utf8))
            }
            return bytes.count
        case let .complete(length):
            let head = UnsafeRawBufferPointer(rebasing: bytes[0..<length])
            switch role {
            case .client:
                clientHandshakeResponse(head, rest: UnsafeRawBufferPointer(rebasing: bytes[length...]))
            case .server:
                serverHandshakeRequest(head)
            }
            return length
        }
    }

    private func clientHandshakeResponse(_ head: UnsafeRawBufferPointer, rest: UnsafeRawBufferPointer) {
        guard let handshake else { return }
        if withUnsafeBytes(of: handshake.keyBytes, { ClientHandshake.isPlainAcceptance(head, key: $0) }) {
            becomeOpen()
            return
        }
        let response: HTTPResponseHead
        do {
            response = try HTTPHeadParser.parseResponse(head)
        } catch {
            finish(.handshakeFailed(.malformedResponse(error.reason)))
            return
        }
        do {
            let selected = try ClientHandshake.validate(response, body: Array(rest), key: handshake.key,
                                                        offeredSubprotocols: handshake.subprotocols)
            if let selected { more.subprotocol = selected }
        } catch {
            finish(.handshakeFailed(error))
            return
        }
        becomeOpen()
    }

    private func serverHandshakeRequest(_ head: UnsafeRawBufferPointer) {
        guard let router = handshake?.router else { return }
        let request: HTTPRequestHead
        do {
            request = try HTTPHeadParser.parseRequest(head)
        } catch {
            respond(status: 400, body: Array("\(error.reason)\n".utf8))
            return
        }
        let isUpgrade = ServerHandshake.isUpgradeRequest(request)
        var key = ""
        if isUpgrade {
            do {
                key = try ServerHandshake.validate(request).key
            } catch {
                respond(status: error.status, body: Array("\(error.message)\n".utf8), headers: error.extraHeaders)
                return
            }
        }
        switch router.route(request, connection: self) {
        case let .respond(status, contentType, body):
            respond(status: status, contentType: contentType, body: body)
        case let .upgrade(handler, selected):
            guard isUpgrade else {
                respond(status: 426, body: Array("this path speaks WebSocket: send an Upgrade request\n".utf8),
                        headers: [("Upgrade", "websocket")])
                return
            }
            if let selected { more.subprotocol = selected }
            delegate = handler
            let response = ServerHandshake.acceptResponse(key: key, subprotocol: selected)
            _ = response.withUnsafeBytes { write($0) }
            becomeOpen()
        }
    }

    private func respond(status: Int, contentType: String = "text/plain; charset=utf-8", body: [UInt8], headers: [(String, String)] = []) {
        let response = ServerHandshake.httpResponse(status: status, contentType: contentType, body: body, extraHeaders: headers)
        _ = response.withUnsafeBytes { write($0) }
        flags.insert(.closeAfterFlush)
        report(.answeredWithHTTP(status: status))
        enterDraining()
    }

    private func becomeOpen() {
        guard phase != .closed else { return }
        phase = .open
        handshake = nil
        timerGeneration &+= 1
        updateInterest()
        delegate?.webSocketDidOpen(self)
    }

    // MARK: Timers and teardown

    private func startTimer(after nanoseconds: Int64) {
        timerGeneration &+= 1
        loop.schedule(at: loop.clock.now().advanced(by: nanoseconds), target: self, token: UInt64(timerGeneration))
    }

    public func timerFired(token: UInt64, now: Instant) {
        guard token == UInt64(timerGeneration) else { return }
        switch phase {
        case .connecting: finish(.timedOut("connect"))
        case .handshaking: finish(.timedOut("handshake"))
        case .closing: finish(.timedOut("close"))
        case .draining: finish(nil)
        case .open, .closed: break
        }
    }

    private func report(_ outcome: CloseOutcome) {
        guard !flags.contains(.closeReported) else { return }
        flags.insert(.closeReported)
        delegate?.webSocket(self, didCloseWith: outcome)
    }

    /// Closes the socket and, unless already reported, reports `outcome`.
    private func finish(_ outcome: CloseOutcome?) {
        guard phase != .closed else { return }
        phase = .closed
        timerGeneration &+= 1
        loop.deregister(fd: socket.fd, closing: true)
        socket.close()
        output.removeAll()
        extras?.message.removeAll()
        if !flags.contains(.processing) { input.removeAll() }
        handshake = nil
        if let outcome { report(outcome) } else { report(.aborted) }
        delegate = nil
    }
}

/// The loop's generator as a `RandomNumberGenerator`, for handshake keys.
struct LoopRandom: RandomNumberGenerator {
    unowned(unsafe) let loop: EventLoop
    mutating func next() -> UInt64 { loop.nextRandom() }
}
