import Testing
import ByteCoding
import TestSupport

@Suite("Byte coding")
struct ByteCodingTests {
    @Test("RFC 4648 section 10 test vectors")
    func base64Vectors() {
        let vectors = [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="),
                       ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")]
        for (plain, encoded) in vectors {
            #expect(Base64.encode(Array(plain.utf8)) == encoded)
            #expect(Base64.decode(encoded) == Array(plain.utf8))
        }
    }

    @Test("non-canonical Base64 is rejected", arguments: ["Zg=", "Zg===", "Z===", "Zm9v!", "=Zg=", "Zg==Zg==", "Z=g="])
    func base64Invalid(text: String) {
        #expect(Base64.decode(text) == nil)
    }

    @Test("varints and fixed-width integers round-trip")
    func roundTrip() throws {
        var rng = SplitMix64(seed: 1)
        var w = ByteWriter()
        var expected: [UInt64] = [0, 1, 127, 128, 16383, 16384, UInt64.max]
        for _ in 0..<1000 { expected.append(rng.next() >> UInt64.random(in: 0...63, using: &rng)) }
        for v in expected { w.writeVarUInt(v) }
        w.writeVarInt(-1)
        w.writeVarInt(Int64.min)
        w.writeLittleEndian(UInt32(0xdeadbeef))
        w.writeBigEndian(UInt16(0x1234))
        w.writeLengthPrefixed("héllo")
        w.write(true)
        var r = ByteReader(w.bytes)
        for v in expected { #expect(try r.readVarUInt() == v) }
        #expect(try r.readVarInt() == -1)
        #expect(try r.readVarInt() == Int64.min)
        #expect(try r.readLittleEndian(UInt32.self) == 0xdeadbeef)
        #expect(try r.readBigEndian(UInt16.self) == 0x1234)
        #expect(try r.readLengthPrefixedString() == "héllo")
        #expect(try r.readBool() == true)
        #expect(r.isAtEnd)
    }

    @Test("reads past the end, overlong varints and oversized lengths fail without trapping")
    func hostileInput() {
        var r = ByteReader([0x80, 0x80])
        #expect(throws: ByteReaderError.self) { try r.readVarUInt() }
        var long = ByteReader([UInt8](repeating: 0xff, count: 11))
        #expect(throws: ByteReaderError.varintTooLong(offset: 0)) { try long.readVarUInt() }
        var big = ByteReader([0xff, 0xff, 0xff, 0xff, 0x0f])
        #expect(throws: ByteReaderError.self) { try big.readLengthPrefixedBytes(limit: 1000) }
        var short = ByteReader([1, 2])
        #expect(throws: ByteReaderError.truncated(offset: 0, needed: 2)) { try short.readLittleEndian(UInt32.self) }
        var badUTF8 = ByteReader([2, 0xc3, 0x28])
        #expect(throws: ByteReaderError.invalidUTF8(offset: 0)) { try badUTF8.readLengthPrefixedString() }
    }
}
