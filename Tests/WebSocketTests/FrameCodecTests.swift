import Testing
import TestSupport
@testable import WebSocket

@Suite("Frame codec")
struct FrameCodecTests {
    func parse(_ bytes: [UInt8]) -> FrameHeader.ParseResult {
        bytes.withUnsafeBytes { FrameHeader.parse($0) }
    }

    @Test("RFC 6455 section 5.7 examples")
    func rfcExamples() {
        // A single-frame unmasked text message "Hello".
        let unmasked: [UInt8] = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]
        #expect(parse(unmasked) == .header(FrameHeader(fin: true, opcode: 1, payloadLength: 5)))
        // A single-frame masked text message "Hello".
        var masked: [UInt8] = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]
        guard case let .header(h) = parse(masked) else { Issue.record("no header"); return }
        #expect(h.length == 6 && h.payloadLength == 5 && h.maskingKey != nil)
        masked.withUnsafeMutableBytes { Masking.apply(key: h.maskingKey!, to: UnsafeMutableRawBufferPointer(rebasing: $0[6...])) }
        #expect(Array(masked[6...]) == Array("Hello".utf8))
        // A fragmented unmasked text message: "Hel" then "lo".
        #expect(parse([0x01, 0x03, 0x48, 0x65, 0x6c]) == .header(FrameHeader(fin: false, opcode: 1, payloadLength: 3)))
        #expect(parse([0x80, 0x02, 0x6c, 0x6f]) == .header(FrameHeader(fin: true, opcode: 0, payloadLength: 2)))
        // Unmasked ping with "Hello".
        #expect(parse([0x89, 0x05]) == .header(FrameHeader(fin: true, opcode: 9, payloadLength: 5)))
        // 256 bytes binary in a single unmasked frame: 16-bit length.
        #expect(parse([0x82, 0x7E, 0x01, 0x00]) == .header(FrameHeader(fin: true, opcode: 2, payloadLength: 256)))
        // 64 KiB binary in a single unmasked frame: 64-bit length.
        #expect(parse([0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]) == .header(FrameHeader(fin: true, opcode: 2, payloadLength: 65536)))
    }

    @Test("every length form round-trips; short input is incomplete", arguments: [0, 1, 125, 126, 127, 65535, 65536, 1 << 40])
    func roundTrip(length: UInt64) {
        for key in [nil, UInt32(0xdeadbeef)] as [UInt32?] {
            let header = FrameHeader(fin: length % 2 == 0, reservedBits: 0, opcode: 2, maskingKey: key, payloadLength: length)
            let bytes = header.bytes
            #expect(bytes.count == header.length)
            #expect(parse(bytes) == .header(header))
            for n in 0..<bytes.count { #expect(parse(Array(bytes[0..<n])) == .incomplete) }
        }
    }

    @Test("a 64-bit length with the top bit set is invalid")
    func invalidLength() {
        #expect(parse([0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 1]) == .invalidLength)
    }

    @Test("masking at any phase equals byte-by-byte masking, and undoes itself")
    func masking() {
        var rng = SplitMix64(seed: 3)
        for _ in 0..<200 {
            let n = Int.random(in: 0..<100, using: &rng)
            let data = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let key = UInt32.random(in: 0...UInt32.max, using: &rng)
            let phase = Int.random(in: 0..<4, using: &rng)
            let keyBytes = withUnsafeBytes(of: key) { Array($0) }
            let expected = data.enumerated().map { $1 ^ keyBytes[($0 + phase) % 4] }
            var fast = data
            fast.withUnsafeMutableBytes { Masking.apply(key: key, to: $0, phase: phase) }
            #expect(fast == expected)
            if phase == 0 {
                var copied = [UInt8](repeating: 0, count: n)
                copied.withUnsafeMutableBytes { dst in data.withUnsafeBytes { Masking.copy($0, to: dst.baseAddress ?? UnsafeMutableRawPointer(bitPattern: 8)!, key: key) } }
                #expect(copied == expected)
            }
            fast.withUnsafeMutableBytes { Masking.apply(key: key, to: $0, phase: phase) }
            #expect(fast == data)
        }
    }
}

@Suite("UTF-8 validation")
struct UTF8ValidatorTests {
    static let valid: [[UInt8]] = [
        Array("plain ASCII, long enough to take the eight-byte path".utf8),
        Array("κόσμε".utf8), [0xF0, 0x9F, 0x98, 0x80], [0xEF, 0xBF, 0xBF], [0xF4, 0x8F, 0xBF, 0xBF],
        [0xED, 0x9F, 0xBF], [0xEE, 0x80, 0x80], [], [0x00],
    ]
    static let invalid: [[UInt8]] = [
        [0x80], [0xC0, 0x80], [0xC1, 0xBF], [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80] /* surrogate */,
        [0xF4, 0x90, 0x80, 0x80] /* > U+10FFFF */, [0xF5, 0x80, 0x80, 0x80], [0xFE], [0xFF],
        [0xF0, 0x8F, 0xBF, 0xBF] /* overlong */, Array("abc".utf8) + [0xCE],
    ]

    @Test("valid sequences pass whole and split at every point")
    func validSequences() {
        for bytes in Self.valid {
            #expect(UTF8Validator.isValid(bytes))
            for split in 0...bytes.count {
                var v = UTF8Validator()
                let a = bytes[0..<split].withUnsafeBytes { v.validate($0) }
                let b = bytes[split...].withUnsafeBytes { v.validate($0) }
                #expect(a && b && v.isComplete)
            }
        }
    }

    @Test("invalid sequences fail, and agree with the standard library")
    func invalidSequences() {
        for bytes in Self.invalid {
            #expect(!UTF8Validator.isValid(bytes))
            #expect(String(validating: bytes, as: UTF8.self) == nil)
        }
    }

    @Test("random bytes: the validator agrees with the standard library")
    func randomAgreement() {
        var rng = SplitMix64(seed: 9)
        for _ in 0..<5000 {
            let bytes = (0..<Int.random(in: 0..<12, using: &rng)).map { _ in
                [UInt8(0x41), 0x80, 0xBF, 0xC2, 0xE0, 0xED, 0xF0, 0xF4, 0xA0, 0x9F, 0x90][Int.random(in: 0..<11, using: &rng)]
            }
            #expect(UTF8Validator.isValid(bytes) == (String(validating: bytes, as: UTF8.self) != nil), "\(bytes)")
        }
    }
}
