import ByteCoding
import Net

/// Sending: frames built in the loop's scratch space and written at once when nothing is
/// queued; what the socket does not take waits in the output queue until it is writable.
extension WebSocketConnection {
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
        // Whole messages are compressed when permessage-deflate was agreed; fragments a caller
        // sends itself go as they are (compression is chosen per message).
        if let compression, fin, opcode == .text || opcode == .binary,
           let sent = writeCompressed(opcode, payload, compression) {
            return sent
        }
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

    func sendClose(code: UInt16, reason: String) {
        guard !flags.contains(.sentClose) else { return }
        flags.insert(.sentClose)
        var payload: [UInt8] = [UInt8(code >> 8), UInt8(code & 0xFF)]
        payload += Array(reason.utf8.prefix(123))
        payload.withUnsafeBytes { _ = writeFrame(.close, $0, fin: true) }
    }

    @usableFromInline
    func writeFrame(_ opcode: Opcode, _ payload: UnsafeRawBufferPointer, fin: Bool, reservedBits: UInt8 = 0) -> Bool {
        switch role {
        case .client:
            let key = UInt32(truncatingIfNeeded: loop.nextRandom())
            let header = FrameHeader(fin: fin, reservedBits: reservedBits, opcode: opcode.rawValue, maskingKey: key,
                                     payloadLength: UInt64(payload.count))
            let total = header.length + payload.count
            let buffer = loop.scratch(atLeast: total)
            let headerLength = header.encode(into: buffer.baseAddress!)
            Masking.copy(payload, to: buffer.baseAddress! + headerLength, key: key)
            return write(UnsafeRawBufferPointer(rebasing: buffer[0..<total]))
        case .server:
            let header = FrameHeader(fin: fin, reservedBits: reservedBits, opcode: opcode.rawValue, payloadLength: UInt64(payload.count))
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
    func write(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard output.isEmpty else {
            output.append(bytes)
            return true
        }
        switch transportWrite(bytes) {
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
    func write(_ header: UnsafeRawBufferPointer, _ payload: UnsafeRawBufferPointer) -> Bool {
        guard output.isEmpty else {
            output.append(header)
            output.append(payload)
            return true
        }
        switch transportWrite(header, payload) {
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

    func queue(_ bytes: UnsafeRawBufferPointer) {
        output.append(bytes)
        flags.insert(.drainNotificationWanted)
        updateInterest()
    }

    func flushOutput() {
        while !output.isEmpty {
            switch transportWrite(UnsafeRawBufferPointer(output.readable)) {
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


    func updateInterest() {
        guard phase != .closed else { return }
        var interest: IOEvents = phase == .connecting ? .writable : .readable
        if !output.isEmpty { interest.insert(.writable) }
        loop.setInterest(fd: socket.fd, interest)
    }
}
