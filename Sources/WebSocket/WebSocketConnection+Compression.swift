import Net

/// Counts of what permessage-deflate did on the connections that share it (one per loop):
/// message bytes against the bytes of their frames' payloads on the wire, each direction.
public final class CompressionTally: @unchecked Sendable {   // written on one loop's thread only
    public var messageBytesSent: Int64 = 0
    public var wireBytesSent: Int64 = 0
    public var messageBytesReceived: Int64 = 0
    public var wireBytesReceived: Int64 = 0

    public init() {}
}

/// A connection's permessage-deflate state: what was agreed, and its own zlib streams when it
/// keeps a window between messages (context takeover). Streams are made on first use, so an
/// idle connection holds none; connections that reset after each message share their loop's.
final class MessageCompression {
    let parameters: DeflateParameters
    let tally: CompressionTally?
    private let sendReset: Bool, sendWindow: Int
    private let receiveReset: Bool, receiveWindow: Int
    private var deflater: RawDeflater?
    private var inflater: RawInflater?

    init(_ parameters: DeflateParameters, role: Role, tally: CompressionTally?) {
        self.parameters = parameters
        self.tally = tally
        (sendReset, sendWindow) = parameters.outbound(role)
        (receiveReset, receiveWindow) = parameters.inbound(role)
    }

    /// Compresses one message into the loop's `deflated` buffer; false if zlib failed (the
    /// message then goes uncompressed, which the protocol allows).
    func compress(_ payload: UnsafeRawBufferPointer, loop: EventLoop) -> Bool {
        let scratch = loop.compression
        let stream: RawDeflater?
        if sendReset {
            stream = scratch.deflater(windowBits: sendWindow)
        } else {
            if deflater == nil { deflater = RawDeflater(windowBits: sendWindow) }
            stream = deflater
        }
        guard let stream else { return false }
        let produced = stream.compress(payload, into: &scratch.deflated, reset: sendReset)
        if let tally {
            tally.messageBytesSent &+= Int64(payload.count)
            tally.wireBytesSent &+= Int64(produced)
        }
        return true
    }

    /// Inflates (part of) a received message into `output`, at most `limit` bytes in all.
    func decompress(_ piece: UnsafeRawBufferPointer, final: Bool, into output: inout ByteQueue, limit: Int, loop: EventLoop) -> RawInflater.Outcome {
        let stream: RawInflater?
        if receiveReset {
            stream = loop.compression.inflater(windowBits: receiveWindow)
        } else {
            if inflater == nil { inflater = RawInflater(windowBits: receiveWindow) }
            stream = inflater
        }
        guard let stream else { return .corrupt }
        let before = output.count
        let outcome = stream.decompress(piece, final: final, into: &output, limit: limit, reset: receiveReset)
        if let tally {
            tally.wireBytesReceived &+= Int64(piece.count)
            tally.messageBytesReceived &+= Int64(output.count - before)
        }
        return outcome
    }
}

extension WebSocketConnection {
    /// The permessage-deflate parameters agreed, if compression is on.
    public var deflate: DeflateParameters? { compression?.parameters }

    /// Turns compression on after a successful negotiation.
    func enableCompression(_ parameters: DeflateParameters, tally: CompressionTally?) {
        compression = MessageCompression(parameters, role: role, tally: tally)
        inbound.compressionNegotiated = true
    }

    /// Sends a whole data message compressed (RSV1 set). False if the connection failed.
    func writeCompressed(_ opcode: Opcode, _ payload: UnsafeRawBufferPointer, _ compression: MessageCompression) -> Bool? {
        let scratch = loop.compression
        guard compression.compress(payload, loop: self.loop) else { return nil }
        defer { scratch.deflated.consume(scratch.deflated.count, keepStorage: scratch.deflated.allocatedBytes <= 1 << 20) }
        let deflated = UnsafeRawBufferPointer(scratch.deflated.readable)
        return writeFrame(opcode, deflated, fin: true, reservedBits: 4)
    }

    /// Handles a compressed message's frame: inflates it (bounded by the message size limit),
    /// checks its text and hands it on once whole.
    func receiveCompressed(_ opcode: Opcode, _ payload: UnsafeRawBufferPointer, isFinal: Bool, fragmented: Bool) {
        guard let compression else { return }
        let limit = Int(clamping: inbound.limits.maximumMessageSize)
        let outcome: RawInflater.Outcome
        if fragmented {
            outcome = compression.decompress(payload, final: isFinal, into: &more.message, limit: limit, loop: loop)
        } else {
            outcome = compression.decompress(payload, final: true, into: &loop.compression.inflated, limit: limit, loop: loop)
        }
        switch outcome {
        case .ok: break
        case .tooLarge:
            discardInflated(fragmented)
            fail(.messageTooLarge)
            return
        case .corrupt:
            discardInflated(fragmented)
            fail(.invalidCompressedData)
            return
        }
        guard isFinal else { return }
        let scratch = loop.compression
        let message = fragmented ? UnsafeRawBufferPointer(more.message.readable) : UnsafeRawBufferPointer(scratch.inflated.readable)
        if opcode == .text {
            var validator = UTF8Validator()
            guard validator.validate(message), validator.isComplete else {
                discardInflated(fragmented)
                fail(.invalidUTF8)
                return
            }
        }
        if phase == .open { delegate?.webSocket(self, didReceive: message, opcode: opcode) }
        discardInflated(fragmented)
    }

    private func discardInflated(_ fragmented: Bool) {
        if fragmented {
            extras?.message.removeAll()
        } else {
            let scratch = loop.compression
            // Kept for the next message unless a large one grew it.
            scratch.inflated.consume(scratch.inflated.count, keepStorage: scratch.inflated.allocatedBytes <= 1 << 20)
        }
    }
}
