import Foundation
import Net
import Testing
import TestSupport
@testable import WebSocket

/// permessage-deflate (RFC 7692): negotiation by the RFC's rules, messages through volley's own
/// client and server with each window and takeover setting, and hostile compressed input.
@Suite("permessage-deflate")
struct DeflateTests {
    @Test("the client's offer: parameters as asked, client_max_window_bits always offered")
    func offer() {
        #expect(DeflateOffer().headerValue == "permessage-deflate; client_max_window_bits")
        var o = DeflateOffer()
        o.clientNoContextTakeover = true
        o.serverNoContextTakeover = true
        o.serverMaxWindowBits = 10
        o.clientMaxWindowBits = 12
        #expect(o.headerValue == "permessage-deflate; client_no_context_takeover; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12")
    }

    @Test("the client checks the server's answer: what it may say, and what breaks RFC 7692")
    func acceptance() throws {
        var o = DeflateOffer()
        o.serverMaxWindowBits = 12
        #expect(try o.accept(nil) == nil)
        let plain = try #require(try o.accept("permessage-deflate"))
        #expect(plain.serverMaxWindowBits == 12 && plain.clientMaxWindowBits == 15 && !plain.serverNoContextTakeover)
        let full = try #require(try o.accept("permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=9"))
        #expect(full.serverNoContextTakeover && full.clientNoContextTakeover && full.serverMaxWindowBits == 10 && full.clientMaxWindowBits == 9)
        #expect(try o.accept("permessage-deflate; client_max_window_bits=\"11\"")?.clientMaxWindowBits == 11)
        let bad = [
            "x-webkit-deflate-frame", "permessage-deflate, permessage-deflate", "permessage-deflate; foo",
            "permessage-deflate; server_max_window_bits=13", "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; server_max_window_bits", "permessage-deflate; client_max_window_bits=8",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; server_no_context_takeover=1", "permessage-deflate; client_max_window_bits=016",
        ]
        for answer in bad {
            #expect(throws: HandshakeError.self, "\(answer)") { try o.accept(answer) }
        }
    }

    @Test("the server takes the first offer it can honor and answers with its parameters")
    func serverChoice() {
        let policy = DeflatePolicy()
        #expect(DeflateNegotiation.choose([], policy: policy) == nil)
        #expect(DeflateNegotiation.choose(["permessage-deflate"], policy: DeflatePolicy(enabled: false)) == nil)
        let simple = DeflateNegotiation.choose(["permessage-deflate; client_max_window_bits"], policy: policy)
        #expect(simple?.response == "permessage-deflate" && simple?.0 == DeflateParameters())
        // An offer with an unknown parameter, or a window zlib cannot compress with, is declined;
        // the next acceptable one (in the same header or a later one) is taken.
        let chosen = DeflateNegotiation.choose(["permessage-deflate; foo=1, permessage-deflate; server_max_window_bits=8",
                                                "permessage-deflate; server_no_context_takeover; client_max_window_bits=10"], policy: policy)
        #expect(chosen?.response == "permessage-deflate; server_no_context_takeover; client_max_window_bits=10")
        #expect(chosen?.0.serverNoContextTakeover == true && chosen?.0.clientMaxWindowBits == 10)
        #expect(DeflateNegotiation.choose(["x-webkit-deflate-frame"], policy: policy) == nil)
        #expect(DeflateNegotiation.choose(["permessage-deflate; server_max_window_bits=\"9\""], policy: policy)?.0.serverMaxWindowBits == 9)
    }

    @Test("raw deflate round trips; the sync-flush trailer is left off and added back")
    func codec() throws {
        let deflater = try #require(RawDeflater(windowBits: 15))
        let inflater = try #require(RawInflater(windowBits: 15))
        var compressed = ByteQueue(), inflated = ByteQueue()
        for i in 0..<50 {
            let message = Array("message \(i): ".utf8) + Array(repeating: UInt8(65 + i % 26), count: i * 37)
            compressed.removeAll()
            inflated.removeAll()
            message.withUnsafeBytes { _ = deflater.compress($0, into: &compressed, reset: false) }
            let wire = Array(compressed.readable)
            #expect(wire.suffix(4) != [0, 0, 0xFF, 0xFF])
            let outcome = wire.withUnsafeBytes { inflater.decompress($0, final: true, into: &inflated, limit: 1 << 20, reset: false) }
            #expect(outcome == .ok && Array(inflated.readable) == message)
        }
        // RFC 7692 section 7.2.3.1: "Hello" compressed is c2 48 cd c9 c9 07 00.
        let hello: [UInt8] = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]
        let fresh = try #require(RawInflater(windowBits: 15))
        var out = ByteQueue()
        #expect(hello.withUnsafeBytes { fresh.decompress($0, final: true, into: &out, limit: 100, reset: true) } == .ok)
        #expect(Array(out.readable) == Array("Hello".utf8))
    }

    @Test("a decompression bomb stops at the limit; garbage is corrupt, not a crash")
    func hostileInput() throws {
        let deflater = try #require(RawDeflater(windowBits: 15))
        var bomb = ByteQueue()
        let zeros = [UInt8](repeating: 0, count: 8 << 20)
        zeros.withUnsafeBytes { _ = deflater.compress($0, into: &bomb, reset: true) }
        #expect(bomb.count < 20_000)   // 8 MiB of zeros in ~8 KiB
        let inflater = try #require(RawInflater(windowBits: 15))
        var out = ByteQueue()
        #expect(inflater.decompress(UnsafeRawBufferPointer(bomb.readable), final: true, into: &out, limit: 65_536, reset: true) == .tooLarge)
        #expect(out.count <= 65_537 && out.allocatedBytes <= 2 * 65_536 + 8192)
        var garbage = ByteQueue()
        var rng = SplitMix64(seed: 7)
        for _ in 0..<200 {
            let bytes = (0..<Int(rng.next() % 300)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            garbage.removeAll()
            let outcome = bytes.withUnsafeBytes { inflater.decompress($0, final: true, into: &garbage, limit: 1 << 16, reset: true) }
            #expect(garbage.count <= 1 << 16 + 1, "\(outcome)")
        }
    }

    func offer(_ configure: (inout DeflateOffer) -> Void = { _ in }) -> DeflateOffer {
        var o = DeflateOffer()
        configure(&o)
        return o
    }

    @Test("volley client and server: every setting echoes text and binary of all sizes intact, compressed on the wire",
          arguments: [
            ("default", DeflateOffer()),
            ("no takeover", { var o = DeflateOffer(); o.clientNoContextTakeover = true; o.serverNoContextTakeover = true; return o }()),
            ("small windows", { var o = DeflateOffer(); o.clientMaxWindowBits = 9; o.serverMaxWindowBits = 9; return o }()),
            ("server resets", { var o = DeflateOffer(); o.serverNoContextTakeover = true; o.serverMaxWindowBits = 12; return o }()),
          ])
    func echo(name: String, offer: DeflateOffer) throws {
        let server = try EchoServer()
        let ws = try BlockingWebSocket("ws://127.0.0.1:\(server.port)/", deflate: offer)
        let agreed = try #require(ws.deflate)
        #expect(agreed.clientNoContextTakeover == offer.clientNoContextTakeover)
        #expect(agreed.serverNoContextTakeover == offer.serverNoContextTakeover)
        #expect(agreed.serverMaxWindowBits == (offer.serverMaxWindowBits ?? 15))
        var rng = SplitMix64(seed: 11)
        for size in [0, 1, 100, 125, 126, 4000, 65_535, 65_536, 300_000] {
            let text = String(repeating: "chat message \(size) ", count: size / 16 + 1).prefix(size)
            ws.send(String(text))
            #expect(try ws.receiveText() == String(text), "text \(size)")
            let random = (0..<size).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            ws.send(binary: random)
            #expect(try ws.receive().bytes == random, "binary \(size)")
        }
        for i in 0..<300 { ws.send("{\"type\":\"chat\",\"room\":\"lobby\",\"seq\":\(i)}") }
        for i in 0..<300 { #expect(try ws.receiveText() == "{\"type\":\"chat\",\"room\":\"lobby\",\"seq\":\(i)}") }
        #expect(ws.tally.messageBytesSent > 0 && ws.tally.wireBytesSent < ws.tally.messageBytesSent)
        #expect(ws.tally.messageBytesReceived == ws.tally.messageBytesSent)
        try ws.close()
    }

    @Test("a server that refuses compression leaves the connection uncompressed; a client that does not offer gets none")
    func declined() throws {
        var options = ServerOptions()
        options.deflate = nil
        let refusing = try EchoServer(options: options)
        let ws = try BlockingWebSocket("ws://127.0.0.1:\(refusing.port)/", deflate: DeflateOffer())
        #expect(ws.deflate == nil)
        ws.send("plain")
        #expect(try ws.receiveText() == "plain")
        let server = try EchoServer()
        let plain = try BlockingWebSocket("ws://127.0.0.1:\(server.port)/")
        #expect(plain.deflate == nil)
    }

    @Test("a server's message inflating past max_message_size fails the connection with 1009, after at most the limit")
    func bombOverTheWire() throws {
        let server = try EchoServer()
        var limits = WebSocketLimits.standard
        limits.maximumMessageSize = 100_000
        let ws = try BlockingWebSocket("ws://127.0.0.1:\(server.port)/", deflate: DeflateOffer(), limits: limits)
        // 90 KB compresses to ~100 bytes and echoes fine; 200 KB of zeros is under the frame
        // limit compressed but over the message limit once inflated.
        ws.send(binary: [UInt8](repeating: 0, count: 90_000))
        #expect(try ws.receive().bytes.count == 90_000)
        ws.send(binary: [UInt8](repeating: 0, count: 200_000))
        let outcome = try ws.waitForClose()
        #expect(outcome == .protocolViolation(.messageTooLarge))
    }
}

