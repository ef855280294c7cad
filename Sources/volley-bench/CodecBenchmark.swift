import WebSocket
#if canImport(Glibc)
import Glibc
#endif

/// The raw cost of the WebSocket frame codec, without sockets: what a client spends to build a
/// masked 32-byte text frame, and what a receiver spends to parse, unmask and validate one.
struct CodecBenchmark {
    func run() {
        print("codec benchmark (release build expected; one thread, 32-byte text payload)")
        let payload = [UInt8](repeating: UInt8(ascii: "x"), count: 32)
        let rounds = 20_000_000
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 16)
        defer { buffer.deallocate() }
        var key: UInt32 = 0x1234_5678
        var sink = 0
        let encode = Stopwatch.measure {
            payload.withUnsafeBytes { p in
                for _ in 0..<rounds {
                    key = key &* 1_664_525 &+ 1_013_904_223
                    let header = FrameHeader(opcode: Opcode.text.rawValue, maskingKey: key, payloadLength: UInt64(p.count))
                    let n = header.encode(into: buffer.baseAddress!)
                    Masking.copy(p, to: buffer.baseAddress! + n, key: key)
                    sink &+= n
                }
            }
        }
        report("client: build a masked frame (header + mask copy)", encode, rounds)

        let frameLength = 6 + payload.count
        var inbound = InboundProtocol(role: .server)
        let decode = Stopwatch.measure {
            for _ in 0..<rounds {
                guard case let .header(h) = FrameHeader.parse(UnsafeRawBufferPointer(buffer)) else { continue }
                let body = UnsafeMutableRawBufferPointer(rebasing: buffer[h.length..<frameLength])
                Masking.apply(key: h.maskingKey!, to: body)
                if case .message = inbound.receive(h, payload: UnsafeRawBufferPointer(body)) { sink &+= 1 }
                Masking.apply(key: h.maskingKey!, to: body)   // restore for the next round
            }
        }
        report("server: parse, unmask, validate UTF-8, classify (+ re-mask)", decode, rounds)
        if sink == 42 { print("") }
    }

    private func report(_ name: String, _ nanos: Double, _ operations: Int) {
        print("  \(name.padding(62)) \(format(nanos / Double(operations)).leftPadding(8)) ns per frame")
    }
}
