import Net

/// TLS (wss://): the non-blocking handshake between TCP and the HTTP upgrade, and the byte
/// transport every read and write goes through (OpenSSL's records when secured, the socket
/// otherwise).
extension WebSocketConnection {
    /// Starts the TLS handshake once TCP is connected (the client speaks first).
    func startSecuring() {
        phase = .securing
        handshake?.securingStarted = loop.clock.now()
        continueSecuring()
    }

    /// One step of the TLS handshake, on any event while securing.
    func continueSecuring() {
        guard let tls else { return }
        switch tls.handshake() {
        case .done:
            let started = handshake?.securingStarted ?? loop.clock.now()
            phase = .handshaking
            let nanoseconds = started.nanoseconds(to: loop.clock.now())
            if role == .client {
                delegate?.webSocketDidSecure(self, nanoseconds: nanoseconds, resumed: tls.resumed)
            } else {
                handshake?.router?.connectionDidSecure(self, nanoseconds: nanoseconds, resumed: tls.resumed)
            }
            guard phase == .handshaking else { return }
            if role == .client {
                flags.insert(.watchingTickets)
                sendHandshakeRequest(connected: true)
            }
            // The handshake may have left write interest on; keep it only for queued output.
            updateInterest()
            // The peer's first bytes (the request, or the response) may already be decrypted.
            if phase == .handshaking && tls.hasPending { readAvailable() }
        case .wantsRead:
            loop.setInterest(fd: socket.fd, .readable)
        case .wantsWrite:
            loop.setInterest(fd: socket.fd, [.readable, .writable])
        case let .failed(error):
            finish(.tlsFailed(error))
        }
    }

    /// The session the server issued on this connection, to resume the next one with (taken
    /// once: a second call returns nil). Call it when the connection closed.
    public func takeTLSSession() -> TLSSession? { tls?.takeSession() }

    /// "TLSv1.3 TLS_AES_256_GCM_SHA384" once secured; nil on plain connections.
    public var tlsDescription: String? { phase == .securing ? nil : tls?.description }

    @inline(__always)
    func transportRead(into buffer: UnsafeMutableRawBufferPointer) -> IOResult {
        if let tls { return tls.read(into: buffer) }
        return socket.read(into: buffer)
    }

    @inline(__always)
    func transportWrite(_ bytes: UnsafeRawBufferPointer) -> IOResult {
        if let tls { return tls.write(bytes) }
        return socket.write(bytes)
    }

    /// Header and payload: one system call on a plain socket; over TLS one record when small
    /// (the caller copies small payloads behind the header), else two writes.
    func transportWrite(_ header: UnsafeRawBufferPointer, _ payload: UnsafeRawBufferPointer) -> IOResult {
        guard let tls else { return socket.write(header, payload) }
        switch tls.write(header) {
        case let .transferred(n) where n == header.count:
            if case let .transferred(m) = tls.write(payload) { return .transferred(n + m) }
            return .transferred(n)
        case let other:
            return other
        }
    }

    /// Sends close_notify before the socket closes, when the conversation ended cleanly, so
    /// the peer sees a proper TLS end (and the session stays resumable).
    func endTLS(clean: Bool) {
        guard let tls, phase != .securing else { return }
        if clean { tls.shutdown() }
    }
}
