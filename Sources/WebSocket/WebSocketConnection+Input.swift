import ByteCoding
import Net

/// Receiving: bytes parsed in place in the loop's read buffer, frames checked by the
/// `InboundProtocol` state machine, text validated as it arrives, and the closing handshake.
extension WebSocketConnection {
    public func handleEvents(_ events: IOEvents) {
        if phase == .connecting {
            if !events.isDisjoint(with: .connectDone) { completeConnect() }
            if phase != .handshaking { return }
        }
        if phase == .securing {
            continueSecuring()
            return
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
    func completeConnect() {
        let code = socket.pendingError
        guard code == 0 else {
            finish(.connectFailed(SocketError("connect", address: handshake?.peer, code: code)))
            return
        }
        if tls != nil {
            startSecuring()
            return
        }
        phase = .handshaking
        flushOutput()
    }

    func readAvailable() {
        guard let tls else {
            readOnce()
            return
        }
        let openBefore = phase == .open
        // OpenSSL may hold records it read ahead, which epoll cannot report.
        while readOnce() && phase != .closed && tls.hasPending {}
        if flags.contains(.watchingTickets) && phase == .open && output.isEmpty {
            // OpenSSL 3.0 leaves a 16 KiB write buffer behind after reading TLS 1.3 session
            // tickets, which only a later write frees: released here, so idle connections hold
            // no record buffers. Tickets follow the handshake, so the watch ends with the first
            // read after the connection opened (freeing costs ~700 instructions, not per message).
            tls.releaseBuffers()
            if openBefore { flags.remove(.watchingTickets) }
        }
    }

    /// One read: true when bytes arrived (and were handled).
    @discardableResult
    func readOnce() -> Bool {
        let buffer = loop.readBuffer
        switch transportRead(into: buffer) {
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
            return true
        case .wouldBlock:
            return false
        case .endOfStream:
            endOfStream()
        case let .failed(code):
            if phase == .handshaking && role == .client && tls == nil && !flags.contains(.receivedData) {
                // A refused or unreachable connect surfaces here when the request went out at once.
                finish(.connectFailed(SocketError("connect", address: handshake?.peer, code: code)))
            } else {
                finish(.connectionLost(SocketError("read", code: code)))
            }
        }
        return false
    }

    func endOfStream() {
        switch phase {
        case .securing:
            finish(.tlsFailed(TLSError(.closedDuringHandshake, "the peer closed the connection during the TLS handshake")))
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
    func process(_ bytes: UnsafeMutableRawBufferPointer) -> Int {
        var offset = 0
        if phase == .handshaking {
            offset = processHandshake(bytes)
            if phase != .open { return offset }
        }
        if phase == .draining { return bytes.count }
        return offset + processFrames(UnsafeMutableRawBufferPointer(rebasing: bytes[offset...]))
    }

    func processFrames(_ bytes: UnsafeMutableRawBufferPointer) -> Int {
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
    func validateIncompleteText(_ header: FrameHeader, _ bytes: UnsafeMutableRawBufferPointer) -> Bool {
        let opcode = Opcode(rawValue: header.opcode)
        // Compressed text is checked once inflated.
        guard (opcode == .text && header.reservedBits == 0)
              || (opcode == .continuation && inbound.fragmentedOpcode == .text && !inbound.messageCompressed) else { return true }
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

    func handleFrame(_ header: FrameHeader, _ payload: UnsafeRawBufferPointer) {
        switch inbound.receive(header, payload: payload) {
        case let .message(opcode):
            if inbound.messageCompressed {
                receiveCompressed(opcode, payload, isFinal: true, fragmented: false)
            } else if phase == .open {
                delegate?.webSocket(self, didReceive: payload, opcode: opcode)
            }
        case let .fragment(opcode, isFinal) where inbound.messageCompressed:
            receiveCompressed(opcode, payload, isFinal: isFinal, fragmented: true)
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

    func peerClosed(code: UInt16?, reason: String) {
        let initiatedLocally = phase == .closing
        if !initiatedLocally {
            // Echo the peer's status code, as RFC 6455 section 5.5.1 suggests.
            sendClose(code: code ?? CloseCode.normal, reason: "")
        }
        report(.closed(initiatedLocally: initiatedLocally, code: code, reason: reason))
        enterDraining()
    }

    /// Fails the connection for a peer's protocol violation: close frame with the right code, then TCP close.
    func fail(_ violation: WebSocketViolation) {
        if phase == .open || phase == .closing {
            sendClose(code: violation.closeCode, reason: "")
        }
        report(.protocolViolation(violation))
        flags.insert(.closeAfterFlush)
        enterDraining()
    }

    /// After the close handshake: servers close TCP once output is flushed; clients wait for the
    /// server's TCP close (RFC 6455 section 7.1.1), both bounded by the close timeout.
    func enterDraining() {
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
}
