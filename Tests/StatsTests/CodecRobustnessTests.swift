import Testing
import ByteCoding
import Stats
import TestSupport

@Suite("Decoding hostile input")
struct CodecRobustnessTests {
    static func sample() -> HDRHistogram {
        var h = HDRHistogram()
        var rng = SplitMix64(seed: 42)
        for _ in 0..<500 { h.record(rng.nextLatency()) }
        return h
    }

    @Test("every truncation of a sparse encoding is rejected")
    func sparseTruncations() {
        let bytes = Self.sample().encodeSparse()
        for n in 0..<bytes.count {
            #expect(throws: HistogramError.self) { try HDRHistogram(sparseEncoded: Array(bytes[0..<n])) }
        }
    }

    @Test("every truncation of a V2 encoding is rejected")
    func v2Truncations() {
        let bytes = Self.sample().encodeV2()
        for n in 0..<bytes.count {
            #expect(throws: HistogramError.self) { try HDRHistogram(v2Encoded: Array(bytes[0..<n])) }
        }
    }

    @Test("random bytes and bit flips never crash the decoders")
    func randomBytes() {
        var rng = SplitMix64(seed: 7)
        let good = [Self.sample().encodeSparse(), Self.sample().encodeV2()]
        for i in 0..<3000 {
            var bytes: [UInt8]
            if i % 2 == 0 {
                bytes = (0..<Int.random(in: 0...64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            } else {
                bytes = good[i / 2 % 2]
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    bytes[Int.random(in: 0..<bytes.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
                }
            }
            _ = try? HDRHistogram(sparseEncoded: bytes)
            _ = try? HDRHistogram(v2Encoded: bytes)
        }
    }

    @Test("a configuration needing too many counters is refused before allocating")
    func hugeConfigurationRefused() throws {
        var w = ByteWriter()
        w.write(1)                                  // version
        w.writeVarUInt(1)
        w.writeVarUInt(UInt64(Int64.max / 2))
        w.write(5)                                  // 5 significant figures over the whole range
        #expect(throws: HistogramError.self) { try HDRHistogram(sparseEncoded: w.bytes, maxCountsLength: 1 << 20) }
    }

    @Test("a V2 payload that lies about its length is rejected")
    func v2LengthLie() {
        var bytes = Self.sample().encodeV2()
        bytes[7] &+= 1
        #expect(throws: HistogramError.self) { try HDRHistogram(v2Encoded: bytes) }
    }
}
