import ByteCoding

/// Why bytes from a peer could not be read as the coordinator-agent protocol.
public struct WireError: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Length-prefixed frames: a 4-byte little-endian payload length, then the payload.
public enum WireFrame {
    /// Largest frame accepted after authentication (a scenario with a large feeder fits).
    public static let maximumLength = 64 << 20
    /// Largest frame accepted before authentication succeeds: a stranger cannot make us buffer more.
    public static let maximumUnauthenticatedLength = 4096

    /// The frame for `payload`.
    public static func encode(_ payload: [UInt8]) -> [UInt8] {
        var w = ByteWriter(capacity: payload.count + 4)
        w.writeLittleEndian(UInt32(payload.count))
        w.write(contentsOf: payload)
        return w.bytes
    }
}

/// Collects received bytes and cuts them into frame payloads, rejecting oversized frames before
/// buffering them.
public struct FrameAssembler: Sendable {
    private var buffer: [UInt8] = []
    private var start = 0
    /// The current length limit (raised once the peer has authenticated).
    public var limit: Int

    public init(limit: Int = WireFrame.maximumUnauthenticatedLength) { self.limit = limit }

    /// Adds received bytes.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        if start > 0 && start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next complete payload, nil if more bytes are needed; throws on an oversized frame.
    public mutating func next() throws(WireError) -> [UInt8]? {
        guard buffer.count - start >= 4 else { return nil }
        let length = Int(UInt32(buffer[start]) | UInt32(buffer[start + 1]) << 8 | UInt32(buffer[start + 2]) << 16 | UInt32(buffer[start + 3]) << 24)
        guard length <= limit else {
            throw WireError("a frame of \(length) bytes exceeds the limit of \(limit) bytes")
        }
        guard buffer.count - start >= 4 + length else { return nil }
        let payload = Array(buffer[(start + 4)..<(start + 4 + length)])
        start += 4 + length
        if start > 65536 && start > buffer.count / 2 {
            buffer.removeFirst(start)
            start = 0
        }
        return payload
    }
}
