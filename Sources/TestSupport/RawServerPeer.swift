import Foundation
import Net
import WebSocket

/// The server's end of one client connection, played by a test on a socket pair: it answers
/// the opening handshake, reads the client's (masked) frames and writes the frames the test
/// chooses, byte for byte. Reading and writing allocate nothing once the peer exists, so the
/// client's hot path can be measured beside it.
public final class RawServerPeer {
    public let socket: Socket
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 8)
    private var filled = 0
    private var consumed = 0
    /// True once the handshake was answered.
    public private(set) var isOpen = false
    /// The client's request head, once it arrived.
    public private(set) var request: String?

    public init(socket: Socket) { self.socket = socket }

    deinit {
        buffer.deallocate()
        socket.close()
    }

    /// Reads whatever the client sent since the last call.
    public func pump() {
        while filled < buffer.count {
            switch socket.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...])) {
            case let .transferred(n): filled += n
            default: return
            }
        }
    }

    /// Answers the opening handshake once the request has arrived; true when done.
    @discardableResult
    public func acceptHandshake(status: Int = 101) -> Bool {
        if isOpen { return true }
        pump()
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: buffer[consumed..<filled]), as: UTF8.self)
        guard let end = text.range(of: "\r\n\r\n") else { return false }
        let head = String(text[..<end.lowerBound])
        request = head
        consumed += head.utf8.count + 4
        guard status == 101 else {
            write(Array("HTTP/1.1 \(status) Refused\r\nContent-Length: 0\r\n\r\n".utf8))
            return true
        }
        let key = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("sec-websocket-key:") }
            .map { String($0.dropFirst("sec-websocket-key:".count)).trimmingCharacters(in: .whitespaces) } ?? ""
        write(ServerHandshake.acceptResponse(key: key))
        isOpen = true
        return true
    }

    /// The next complete frame from the client, unmasked in place: its opcode and payload
    /// (valid until the next call). Nil when none is complete yet.
    public func nextFrame() -> (opcode: UInt8, payload: UnsafeRawBufferPointer)? {
        pump()
        if consumed == filled {
            consumed = 0
            filled = 0
            return nil
        }
        let available = UnsafeMutableRawBufferPointer(rebasing: buffer[consumed..<filled])
        guard case let .header(header) = FrameHeader.parse(UnsafeRawBufferPointer(available)) else { return nil }
        let total = header.length + Int(header.payloadLength)
        guard available.count >= total else {
            if consumed > 0 {
                // Move the partial frame to the front so the buffer never runs out.
                buffer.baseAddress!.copyMemory(from: available.baseAddress!, byteCount: available.count)
                filled = available.count
                consumed = 0
            }
            return nil
        }
        let payload = UnsafeMutableRawBufferPointer(rebasing: available[header.length..<total])
        if let key = header.maskingKey { Masking.apply(key: key, to: payload) }
        consumed += total
        return (header.opcode, UnsafeRawBufferPointer(payload))
    }

    /// A complete unmasked server frame (build once, send many times).
    public static func frame(_ opcode: Opcode, _ payload: [UInt8]) -> [UInt8] {
        let header = FrameHeader(fin: true, opcode: opcode.rawValue, payloadLength: UInt64(payload.count))
        return header.bytes + payload
    }

    /// Writes bytes to the client.
    public func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                guard case let .transferred(n) = socket.write(UnsafeRawBufferPointer(rebasing: raw[offset...])) else { return }
                offset += n
            }
        }
    }

    /// Sends a text message.
    public func send(text: String) { write(Self.frame(.text, Array(text.utf8))) }
}

/// A dialer that connects virtual users to socket pairs the test holds the other ends of.
public final class SocketPairDialer: @unchecked Sendable {
    /// The test's ends, one per connection dialed, in order.
    public private(set) var peers: [RawServerPeer] = []

    public init() {}

    /// One end of a new pair for the client; the other becomes a `RawServerPeer`.
    public func dialPair() throws(SocketError) -> (Socket, connected: Bool) {
        let (client, server) = try Socket.pair()
        peers.append(RawServerPeer(socket: server))
        return (client, true)
    }
}
