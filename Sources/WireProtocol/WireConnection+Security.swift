import Net

/// The control channel's encryption: TLS 1.3 whose only credential is a key derived from the
/// shared token (an external PSK with an ephemeral key exchange), so completing the handshake
/// proves both ends hold the token, a recorded session cannot be decrypted later, and the
/// token never crosses the wire. Agents listening without a token (loopback only) use the
/// empty token: the channel is encrypted, but anyone on the host could open it.
public enum ControlChannelSecurity {
    /// The coordinator's context (the TLS client).
    public static func coordinator(token: [UInt8]) throws(TLSError) -> TLSContext {
        try TLSContext(preSharedToken: token, server: false)
    }

    /// The agent's context (the TLS server).
    public static func agent(token: [UInt8]) throws(TLSError) -> TLSContext {
        try TLSContext(preSharedToken: token, server: true)
    }

    /// An accepted peer that sends nothing for this long is not a coordinator of this version
    /// (a coordinator speaks first): it is told what this agent speaks and closed.
    public static let silenceLimit = Nanoseconds.seconds(1)

    /// TLS records begin with a content type: 22 (handshake) or 21 (alert).
    static func isTLSRecordStart(_ byte: UInt8) -> Bool { byte == 22 || byte == 21 }

    /// The protocol version in a plaintext hello frame at the start of `bytes`, if there is one
    /// (what an older coordinator or agent, which spoke plaintext, sends first).
    static func plaintextHelloVersion(_ bytes: [UInt8]) -> UInt16? {
        var assembler = FrameAssembler()
        bytes.withUnsafeBytes { assembler.append($0) }
        guard let payload = try? assembler.next(), case let .hello(hello)? = try? WireMessage.decode(payload) else { return nil }
        return hello.protocolVersion
    }
}

extension WireConnection {
    /// Coordinator: TCP is up; the ClientHello goes out.
    func startSecuring() {
        do {
            tls = try TLSStream(client: security, socket: socket, serverName: nil, verifyName: false, session: nil)
        } catch {
            close(reason: "cannot set up the encrypted channel: \(error)")
            return
        }
        stage = .securing
        continueSecuring()
    }

    /// Agent: the peer's first bytes decide. TLS goes on to the handshake; anything else is an
    /// older volley or a stranger, told what this agent speaks.
    func examinePeer() {
        var first: UInt8 = 0
        switch withUnsafeMutableBytes(of: &first, { socket.peek(into: $0) }) {
        case .wouldBlock:
            return
        case .endOfStream, .failed:
            close(reason: nil)      // connected and left without a word (a port probe)
            return
        case .transferred:
            break
        }
        guard ControlChannelSecurity.isTLSRecordStart(first) else {
            refusePlaintext(peeked: consumeAvailable())
            return
        }
        peerSpeaksTLS = true
        do {
            tls = try TLSStream(server: security, socket: socket)
        } catch {
            close(reason: "cannot set up the encrypted channel: \(error)")
            return
        }
        stage = .securing
        continueSecuring()
    }

    /// One step of the handshake, on any event while securing.
    func continueSecuring() {
        guard let tls else { return }
        if role == .coordinator && !peerSpeaksTLS {
            // An older agent greets in plaintext before it reads anything: name it, rather
            // than reporting what OpenSSL makes of a plaintext frame.
            let peeked = peekAvailable()
            if let firstByte = peeked.first {
                guard ControlChannelSecurity.isTLSRecordStart(firstByte) else {
                    let version = ControlChannelSecurity.plaintextHelloVersion(peeked)
                    close(reason: version.map {
                        "agent speaks protocol version \($0) in plaintext; this coordinator speaks version \(wireProtocolVersion) over an encrypted channel: run the same volley build on both"
                    } ?? "the agent answered in plaintext, not TLS: it is not a volley agent speaking protocol version \(wireProtocolVersion)")
                    return
                }
                peerSpeaksTLS = true
            }
        }
        advance(tls)
    }

    private func advance(_ tls: TLSStream) {
        switch tls.handshake() {
        case .done:
            stage = .open
            flush()
            // The peer's first message may already be decrypted and held by OpenSSL.
            if stage == .open { readAvailable() }
        case .wantsRead:
            loop.setInterest(fd: socket.fd, .readable)
        case .wantsWrite:
            loop.setInterest(fd: socket.fd, [.readable, .writable])
        case let .failed(error):
            close(reason: handshakeFailure(error))
        }
    }

    /// What a failed handshake most likely means, from this end's point of view.
    func handshakeFailure(_ error: TLSError) -> String {
        let openssl = error.reason.isEmpty ? "" : " (OpenSSL: \(error.reason))"
        switch role {
        case .coordinator:
            return "authentication failed: the encrypted handshake was refused\(openssl); the agent's --token-file differs from this coordinator's, or it runs another volley version"
        case .agent:
            return "authentication failed: the encrypted handshake failed\(openssl); the coordinator's --token-file differs from this agent's, or it is not a volley coordinator of this version"
        }
    }

    /// Agent: a peer that spoke plaintext (or nothing). An older coordinator waits for the
    /// agent's plaintext hello: it gets one stating this version, and an error saying why, so
    /// it reports the mismatch in its own words; then the connection closes.
    func refusePlaintext(peeked: [UInt8]) {
        let heard = ControlChannelSecurity.plaintextHelloVersion(peeked)
        let what: String
        switch (heard, peeked.isEmpty) {
        case let (version?, _): what = "the coordinator speaks protocol version \(version) in plaintext"
        case (nil, true): what = "the peer sent nothing"
        case (nil, false): what = "the peer does not speak TLS"
        }
        let message = "protocol version mismatch: \(what); this agent speaks version \(wireProtocolVersion) over a channel encrypted with the token: run the same volley build on both"
        var plain = WireFrame.encode(WireMessage.hello(.init(role: .agent, software: "volley agent", nonce: SecureRandom.bytes(32))).encode())
        plain += WireFrame.encode(WireMessage.error(code: .versionMismatch, message: message).encode())
        // Small enough for any socket buffer; what does not fit is not worth waiting for.
        _ = plain.withUnsafeBytes { socket.write($0) }
        close(reason: message)
    }

    /// The bytes waiting in the socket, left there.
    private func peekAvailable() -> [UInt8] {
        let window = UnsafeMutableRawBufferPointer(rebasing: loop.readBuffer[0..<Swift.min(loop.readBuffer.count, WireFrame.maximumUnauthenticatedLength)])
        guard case let .transferred(n) = socket.peek(into: window) else { return [] }
        return Array(window[0..<n])
    }

    /// The bytes waiting in the socket, taken (so closing sends FIN, not a reset that could
    /// overtake the refusal).
    private func consumeAvailable() -> [UInt8] {
        let window = UnsafeMutableRawBufferPointer(rebasing: loop.readBuffer[0..<Swift.min(loop.readBuffer.count, WireFrame.maximumUnauthenticatedLength)])
        guard case let .transferred(n) = socket.read(into: window) else { return [] }
        let taken = Array(window[0..<n])
        for _ in 0..<64 {
            guard case .transferred = socket.read(into: loop.readBuffer) else { break }
        }
        return taken
    }
}
