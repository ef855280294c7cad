import Testing
@testable import WebSocket

@Suite("Opening handshake and HTTP heads")
struct HandshakeTests {
    func head(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test("RFC 6455 section 1.3 sample: key dGhlIHNhbXBsZSBub25jZQ== gives s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    func acceptKey() {
        #expect(ClientHandshake.accept(forKey: "dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }

    @Test("the client request carries host, key, version, subprotocols and custom headers")
    func clientRequest() throws {
        let url = WebSocketURL("ws://example.com:8080/rooms/a?x=1")!
        let request = ClientHandshake.request(url: url, key: "k", subprotocols: ["chat", "v2"], headers: [("Authorization", "Bearer t")])
        let parsed = try request.withUnsafeBytes { try HTTPHeadParser.parseRequest($0) }
        #expect(parsed.method == "GET" && parsed.target == "/rooms/a?x=1" && parsed.path == "/rooms/a")
        #expect(parsed.queryParameter("x") == "1")
        #expect(parsed.headers["host"] == "example.com:8080")
        #expect(parsed.headers["Sec-WebSocket-Key"] == "k")
        #expect(parsed.headers.tokens("Sec-WebSocket-Protocol") == ["chat", "v2"])
        #expect(parsed.headers["Authorization"] == "Bearer t")
    }

    @Test("a 101 with the right accept validates; each wrong header is named")
    func responseValidation() throws {
        let key = "dGhlIHNhbXBsZSBub25jZQ=="
        func response(_ text: String) throws -> HTTPResponseHead {
            try head(text).withUnsafeBytes { try HTTPHeadParser.parseResponse($0) }
        }
        let good = try response("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\n")
        #expect(try ClientHandshake.validate(good, body: [], key: key, offeredSubprotocols: ["chat"]) == "chat")
        #expect(throws: HandshakeError.unrequestedSubprotocol("chat")) {
            try ClientHandshake.validate(good, body: [], key: key, offeredSubprotocols: [])
        }
        let bad = try response("HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: nope\r\n\r\n")
        #expect(throws: HandshakeError.acceptMismatch(expected: "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", received: "nope")) {
            try ClientHandshake.validate(bad, body: [], key: key, offeredSubprotocols: [])
        }
        let forbidden = try response("HTTP/1.1 403 Forbidden\r\nContent-Length: 12\r\n\r\n")
        #expect(throws: HandshakeError.unexpectedStatus(status: 403, reason: "Forbidden", body: "bad token")) {
            try ClientHandshake.validate(forbidden, body: Array("bad token\n".utf8), key: key, offeredSubprotocols: [])
        }
        #expect(HandshakeError.unexpectedStatus(status: 403, reason: "Forbidden", body: "bad token").description
                == "server answered 403 Forbidden instead of 101 Switching Protocols: bad token")
    }

    @Test("the byte-level fast path accepts exactly the plain 101s the full validator accepts")
    func fastPath() {
        let key = "dGhlIHNhbXBsZSBub25jZQ=="
        func plain(_ text: String) -> Bool { Array(text.utf8).withUnsafeBytes { ClientHandshake.isPlainAcceptance($0, key: key) } }
        #expect(plain("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"))
        #expect(plain("HTTP/1.1 101 X\r\nconnection: keep-alive, upgrade\r\nSEC-WEBSOCKET-ACCEPT:  s3pPLMBiTxaQ9kYGzzhZRbK+xOo= \r\nUpgrade: WebSocket\r\n\r\n"))
        #expect(!plain("HTTP/1.1 101 X\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: wrong\r\n\r\n"))
        #expect(!plain("HTTP/1.1 101 X\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\n"))
        #expect(!plain("HTTP/1.1 403 Forbidden\r\n\r\n"))
        #expect(!plain("HTTP/1.1 101 X\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"))
    }

    @Test("server validation: method, upgrade headers, version and key")
    func serverValidation() throws {
        func request(_ text: String) throws -> HTTPRequestHead {
            try head(text).withUnsafeBytes { try HTTPHeadParser.parseRequest($0) }
        }
        let ok = try request("GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        #expect(try ServerHandshake.validate(ok).key == "dGhlIHNhbXBsZSBub25jZQ==")
        let oldVersion = try request("GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n")
        #expect(throws: HandshakeRejection.self) { try ServerHandshake.validate(oldVersion) }
        let badKey = try request("GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n")
        #expect(throws: HandshakeRejection(status: 400, message: "missing or malformed Sec-WebSocket-Key")) { try ServerHandshake.validate(badKey) }
        let response = ServerHandshake.acceptResponse(key: "dGhlIHNhbXBsZSBub25jZQ==")
        #expect(String(decoding: response, as: UTF8.self).contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"))
    }

    @Test("head scanning is bounded and malformed heads are rejected with a reason")
    func headParsing() {
        #expect(head("GET / HTTP/1.1\r\nHost: x\r\n").withUnsafeBytes { HTTPHeadParser.scan($0) } == .incomplete)
        #expect(head("GET / HTTP/1.1\r\n\r\nrest").withUnsafeBytes { HTTPHeadParser.scan($0) } == .complete(18))
        let huge = head("GET / HTTP/1.1\r\n" + String(repeating: "X-A: b\r\n", count: 3000))
        #expect(huge.withUnsafeBytes { HTTPHeadParser.scan($0) } == .tooLarge)
        for bad in ["GET\r\n\r\n", "GET / SPDY/3\r\n\r\n", "GET / HTTP/1.1\r\n folded\r\n\r\n", "GET / HTTP/1.1\r\nNoColon\r\n\r\n"] {
            #expect(throws: HTTPParseError.self) { try head(bad).withUnsafeBytes { try HTTPHeadParser.parseRequest($0) } }
        }
        #expect(throws: HTTPParseError.self) { try head("HTTP/1.1 abc\r\n\r\n").withUnsafeBytes { try HTTPHeadParser.parseResponse($0) } }
    }

    @Test("WebSocket URLs", arguments: [
        ("ws://h/", "h", 80, "/"), ("ws://h:9001", "h", 9001, "/"), ("wss://h/p?q=1", "h", 443, "/p?q=1"),
        ("ws://[::1]:8080/x", "::1", 8080, "/x"), ("ws://h?x=1", "h", 80, "/?x=1"),
    ])
    func urls(text: String, host: String, port: Int, target: String) {
        let url = WebSocketURL(text)
        #expect(url?.host == host && url?.port == UInt16(port) && url?.target == target)
    }

    @Test("not WebSocket URLs", arguments: ["http://h/", "ws://", "ws://h:99999/", "ws://user@h/", "ws://[::1/"])
    func badURLs(text: String) {
        #expect(WebSocketURL(text) == nil)
    }

    @Test("percent decoding of query values")
    func percent() {
        #expect(PercentCoding.decode("a%20b+c%2F") == "a b c/")
        #expect(PercentCoding.decode("bad%zz") == "bad%zz")
        #expect(PercentCoding.decode(PercentCoding.encode("ü &=x")) == "ü &=x")
    }
}
