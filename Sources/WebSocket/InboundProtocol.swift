/// Which end of a connection this is.
public enum Role: Sendable {
    case client
    case server
}

/// Limits on what a peer may send.
public struct WebSocketLimits: Sendable, Equatable {
    /// Largest accepted frame payload.
    public var maximumFrameSize: UInt64
    /// Largest accepted message (sum of its fragments).
    public var maximumMessageSize: UInt64

    public init(maximumFrameSize: UInt64 = 16 << 20, maximumMessageSize: UInt64 = 16 << 20) {
        self.maximumFrameSize = maximumFrameSize
        self.maximumMessageSize = maximumMessageSize
    }

    /// 16 MiB frames and messages: enough for the Autobahn testsuite's largest case.
    public static let standard = WebSocketLimits()
}

/// What one received frame means, as decided by `InboundProtocol`.
public enum InboundEvent: Equatable, Sendable {
    /// A whole message in one frame (text or binary); the payload is the message.
    case message(Opcode)
    /// A piece of a fragmented message; `isFinal` on its last piece.
    case fragment(Opcode, isFinal: Bool)
    /// A ping; answer with a pong carrying the same payload.
    case ping
    /// A pong.
    case pong
    /// A close frame, with its status code if it had one (the reason is the payload after it).
    case close(code: UInt16?)
    /// The peer broke the protocol; close with the violation's code.
    case violation(WebSocketViolation)
}

/// The receive side of RFC 6455 as a value type: validates each frame header, tracks
/// fragmentation and UTF-8 across fragments, and classifies frames. It never touches a socket,
/// so it is tested byte by byte.
public struct InboundProtocol: Sendable {
    /// Which end we are (clients require unmasked frames, servers masked ones).
    public let role: Role
    /// Limits on frames and messages.
    public let limits: WebSocketLimits

    /// Opcode of the fragmented message in progress, if any.
    public private(set) var fragmentedOpcode: Opcode?
    private var fragmentedLength: UInt64 = 0
    private var utf8 = UTF8Validator()
    /// True once a close frame has been received.
    public private(set) var closeReceived = false
    /// permessage-deflate was negotiated: RSV1 marks a compressed message.
    public var compressionNegotiated = false
    /// The message being received (or just received) was compressed: its payload is DEFLATE
    /// data, checked as UTF-8 only once inflated (by the connection).
    public private(set) var messageCompressed = false

    public init(role: Role, limits: WebSocketLimits = .standard) {
        self.role = role
        self.limits = limits
    }

    /// Checks a header before its payload is buffered or used.
    @inlinable
    public func check(_ header: FrameHeader) -> WebSocketViolation? {
        guard let opcode = Opcode(rawValue: header.opcode) else { return .reservedOpcode }
        if header.reservedBits != 0 {
            // RSV1 (permessage-deflate) on the first frame of a data message, nowhere else.
            guard compressionNegotiated, header.reservedBits == 4, opcode == .text || opcode == .binary else { return .reservedBitsSet }
        }
        switch role {
        case .server where header.maskingKey == nil: return .unmaskedClientFrame
        case .client where header.maskingKey != nil: return .maskedServerFrame
        default: break
        }
        if opcode.isControl {
            if !header.fin { return .fragmentedControlFrame }
            if header.payloadLength > 125 { return .controlFrameTooLong }
            return nil
        }
        if closeReceived { return .dataAfterClose }
        if opcode == .continuation {
            if fragmentedOpcode == nil { return .unexpectedContinuation }
        } else if fragmentedOpcode != nil {
            return .expectedContinuation
        }
        if header.payloadLength > limits.maximumFrameSize { return .frameTooLarge }
        if header.payloadLength > limits.maximumMessageSize { return .messageTooLarge }
        return nil
    }

    /// Processes a complete frame whose header passed `check` and whose payload is unmasked.
    public mutating func receive(_ header: FrameHeader, payload: UnsafeRawBufferPointer) -> InboundEvent {
        if let violation = check(header) { return .violation(violation) }
        let opcode = Opcode(rawValue: header.opcode)!
        switch opcode {
        case .ping:
            return .ping
        case .pong:
            return .pong
        case .close:
            closeReceived = true
            return Self.classifyClose(payload)
        case .text, .binary:
            messageCompressed = header.reservedBits & 4 != 0
            if header.fin {
                if opcode == .text && !messageCompressed {
                    var v = UTF8Validator()
                    guard v.validate(payload), v.isComplete else { return .violation(.invalidUTF8) }
                }
                return .message(opcode)
            }
            fragmentedOpcode = opcode
            fragmentedLength = header.payloadLength
            utf8.reset()
            if opcode == .text && !messageCompressed, !utf8.validate(payload) { return .violation(.invalidUTF8) }
            return .fragment(opcode, isFinal: false)
        case .continuation:
            let messageOpcode = fragmentedOpcode!
            fragmentedLength += header.payloadLength
            if fragmentedLength > limits.maximumMessageSize { return .violation(.messageTooLarge) }
            if messageOpcode == .text && !messageCompressed {
                guard utf8.validate(payload) else { return .violation(.invalidUTF8) }
                if header.fin && !utf8.isComplete { return .violation(.invalidUTF8) }
            }
            if header.fin {
                fragmentedOpcode = nil
                fragmentedLength = 0
            }
            return .fragment(messageOpcode, isFinal: header.fin)
        }
    }

    /// Validates a close payload: empty, or a valid code followed by a UTF-8 reason.
    public static func classifyClose(_ payload: UnsafeRawBufferPointer) -> InboundEvent {
        if payload.count == 0 { return .close(code: nil) }
        if payload.count == 1 { return .violation(.invalidClosePayload) }
        let code = UInt16(payload[0]) << 8 | UInt16(payload[1])
        guard CloseCode.isValidOnWire(code) else { return .violation(.invalidCloseCode) }
        var v = UTF8Validator()
        guard v.validate(UnsafeRawBufferPointer(rebasing: payload[2...])), v.isComplete else {
            return .violation(.invalidClosePayload)
        }
        return .close(code: code)
    }

    /// The UTF-8 state of the fragmented text message in progress (for fail-fast checks of a
    /// frame that is still arriving).
    public var fragmentedTextValidator: UTF8Validator { utf8 }
}
