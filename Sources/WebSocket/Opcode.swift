/// The frame opcodes of RFC 6455 section 5.2.
public enum Opcode: UInt8, Sendable {
    case continuation = 0x0
    case text = 0x1
    case binary = 0x2
    case close = 0x8
    case ping = 0x9
    case pong = 0xA

    /// Close, ping and pong are control frames.
    @inlinable
    public var isControl: Bool { rawValue & 0x8 != 0 }
}

/// Close status codes volley sends (RFC 6455 section 7.4.1).
public enum CloseCode {
    public static let normal: UInt16 = 1000
    public static let goingAway: UInt16 = 1001
    public static let protocolError: UInt16 = 1002
    public static let unsupportedData: UInt16 = 1003
    public static let noStatus: UInt16 = 1005
    public static let abnormal: UInt16 = 1006
    public static let invalidPayload: UInt16 = 1007
    public static let policyViolation: UInt16 = 1008
    public static let messageTooBig: UInt16 = 1009
    public static let internalError: UInt16 = 1011

    /// True for codes a peer may send in a close frame: 1000-1003, 1007-1014, 3000-4999.
    public static func isValidOnWire(_ code: UInt16) -> Bool {
        switch code {
        case 1000...1003, 1007...1014, 3000...4999: return true
        default: return false
        }
    }
}

/// A protocol violation by the peer: the close code it earns and a stable name for counting.
public enum WebSocketViolation: String, CaseIterable, Sendable, Error, CustomStringConvertible {
    case reservedBitsSet = "reserved_bits_set"
    case reservedOpcode = "reserved_opcode"
    case fragmentedControlFrame = "fragmented_control_frame"
    case controlFrameTooLong = "control_frame_too_long"
    case unexpectedContinuation = "unexpected_continuation"
    case expectedContinuation = "expected_continuation"
    case unmaskedClientFrame = "unmasked_client_frame"
    case maskedServerFrame = "masked_server_frame"
    case invalidUTF8 = "invalid_utf8"
    case invalidPayloadLength = "invalid_payload_length"
    case frameTooLarge = "frame_too_large"
    case messageTooLarge = "message_too_large"
    case invalidCloseCode = "invalid_close_code"
    case invalidClosePayload = "invalid_close_payload"
    case dataAfterClose = "data_after_close"
    case invalidCompressedData = "invalid_compressed_data"

    /// The status code volley closes with.
    public var closeCode: UInt16 {
        switch self {
        case .invalidUTF8, .invalidCompressedData: return CloseCode.invalidPayload
        case .frameTooLarge, .messageTooLarge: return CloseCode.messageTooBig
        default: return CloseCode.protocolError
        }
    }

    public var description: String {
        switch self {
        case .reservedBitsSet: return "a frame had reserved bits set without a negotiated extension"
        case .reservedOpcode: return "a frame used a reserved opcode"
        case .fragmentedControlFrame: return "a control frame was fragmented"
        case .controlFrameTooLong: return "a control frame carried more than 125 bytes"
        case .unexpectedContinuation: return "a continuation frame arrived with no message in progress"
        case .expectedContinuation: return "a new message started before the fragmented one ended"
        case .unmaskedClientFrame: return "a client frame was not masked"
        case .maskedServerFrame: return "a server frame was masked"
        case .invalidUTF8: return "a text message was not valid UTF-8"
        case .invalidPayloadLength: return "a 64-bit payload length had its top bit set"
        case .frameTooLarge: return "a frame exceeded the frame size limit"
        case .messageTooLarge: return "a message exceeded the message size limit"
        case .invalidCloseCode: return "a close frame carried an invalid status code"
        case .invalidCompressedData: return "a compressed message was not valid DEFLATE data"
        case .invalidClosePayload: return "a close frame carried a 1-byte or non-UTF-8 payload"
        case .dataAfterClose: return "a data frame arrived after the close frame"
        }
    }
}
