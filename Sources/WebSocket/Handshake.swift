import ByteCoding
import Digest

/// Why a client's opening handshake failed.
public enum HandshakeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The server answered with something other than 101; `body` holds the first bytes of its body.
    case unexpectedStatus(status: Int, reason: String, body: String)
    /// A required header was absent or had the wrong value.
    case invalidHeader(name: String, value: String?)
    /// Sec-WebSocket-Accept did not match the key we sent.
    case acceptMismatch(expected: String, received: String)
    /// The server selected a subprotocol we did not offer.
    case unrequestedSubprotocol(String)
    /// The server enabled an extension we did not offer.
    case unrequestedExtension(String)
    /// The server's extension answer breaks RFC 7692 (or asks what volley cannot honor).
    case invalidExtension(String)
    /// The response was not parseable HTTP.
    case malformedResponse(String)
    /// The response head exceeded the size limit.
    case responseTooLarge
    /// The connection closed before the handshake completed.
    case connectionClosed

    public var description: String {
        switch self {
        case let .unexpectedStatus(status, reason, body):
            let b = body.isEmpty ? "" : ": \(body)"
            return "server answered \(status) \(reason) instead of 101 Switching Protocols\(b)"
        case let .invalidHeader(name, value):
            return value.map { "response header \(name) is \"\($0)\"" } ?? "response has no \(name) header"
        case let .acceptMismatch(expected, received):
            return "Sec-WebSocket-Accept is \"\(received)\", expected \"\(expected)\""
        case let .unrequestedSubprotocol(p): return "server selected subprotocol \"\(p)\", which was not offered"
        case let .unrequestedExtension(e): return "server enabled extension \"\(e)\", which was not offered"
        case let .invalidExtension(why): return "invalid extension negotiation: \(why)"
        case let .malformedResponse(why): return "malformed handshake response: \(why)"
        case .responseTooLarge: return "handshake response head exceeds \(HTTPHeadParser.defaultLimit) bytes"
        case .connectionClosed: return "connection closed during the handshake"
        }
    }
}

/// The client side of the RFC 6455 opening handshake.
public enum ClientHandshake {
    static let guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + GUID)).
    public static func accept(forKey key: String) -> String {
        Base64.encode(SHA1.hash(Array((key + guid).utf8)))
    }

    /// Sec-WebSocket-Accept for a 24-byte key, written to `output` (28 bytes), without allocating.
    public static func accept(forKey key: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) {
        withUnsafeTemporaryAllocation(byteCount: 64 + 20, alignment: 8) { scratch in
            let input = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<(key.count + 36)])
            input.copyMemory(from: key)
            guidBytes.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: input[key.count...]).copyMemory(from: $0) }
            let digest = UnsafeMutableRawBufferPointer(rebasing: scratch[64..<84])
            SHA1.hash(UnsafeRawBufferPointer(input), into: digest)
            Base64.encode(UnsafeRawBufferPointer(digest), into: output)
        }
    }

    static let guidBytes = Array(guid.utf8)

    /// A fresh Sec-WebSocket-Key from 16 random bytes.
    public static func makeKey<R: RandomNumberGenerator>(using rng: inout R) -> String {
        var bytes = [UInt8]()
        for _ in 0..<2 {
            let v = rng.next()
            for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) }
        }
        return Base64.encode(bytes)
    }

    /// The constant parts of upgrade requests for one URL and header set: the bytes before the
    /// key and after it, so each connection's request is two copies and 24 key bytes.
    public struct RequestTemplate: Sendable {
        public let prefix: [UInt8]
        public let suffix: [UInt8]

        public init(url: WebSocketURL, subprotocols: [String] = [], headers: [(name: String, value: String)] = [],
                    deflate: DeflateOffer? = nil) {
            let marker = "\u{0}KEY\u{0}"
            let whole = String(decoding: ClientHandshake.request(url: url, key: marker, subprotocols: subprotocols, headers: headers,
                                                                 deflate: deflate), as: UTF8.self)
            let parts = whole.split(separator: marker, omittingEmptySubsequences: false)
            prefix = Array(parts[0].utf8)
            suffix = Array(parts[1].utf8)
        }

        /// Size of a request built from this template.
        public var length: Int { prefix.count + 24 + suffix.count }

        /// Writes the request with `key` (24 bytes) into `output`; returns its length.
        public func write(key: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int {
            prefix.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: output[0..<prefix.count]).copyMemory(from: $0) }
            UnsafeMutableRawBufferPointer(rebasing: output[prefix.count..<(prefix.count + 24)]).copyMemory(from: key)
            suffix.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: output[(prefix.count + 24)...]).copyMemory(from: $0) }
            return length
        }
    }

    /// The upgrade request for `url`.
    public static func request(url: WebSocketURL, key: String, subprotocols: [String] = [],
                               headers: [(name: String, value: String)] = [], deflate: DeflateOffer? = nil) -> [UInt8] {
        var text = "GET \(url.target) HTTP/1.1\r\nHost: \(url.hostHeader)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        text += "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n"
        if !subprotocols.isEmpty { text += "Sec-WebSocket-Protocol: \(subprotocols.joined(separator: ", "))\r\n" }
        if let deflate { text += "Sec-WebSocket-Extensions: \(deflate.headerValue)\r\n" }
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        text += "\r\n"
        return Array(text.utf8)
    }

    /// The common case, checked on the raw head without building strings: a 101 with
    /// `Upgrade: websocket`, `Connection: upgrade`, the right `Sec-WebSocket-Accept`, and no
    /// subprotocol or extension. False means "use `validate`", which also explains failures.
    public static func isPlainAcceptance(_ head: UnsafeRawBufferPointer, key: String) -> Bool {
        var k = key
        return k.withUTF8 { isPlainAcceptance(head, key: UnsafeRawBufferPointer($0)) }
    }

    /// `isPlainAcceptance` for a key given as bytes, without allocating.
    public static func isPlainAcceptance(_ head: UnsafeRawBufferPointer, key: UnsafeRawBufferPointer) -> Bool {
        let prefix: StaticString = "HTTP/1.1 101 "
        guard head.count > prefix.utf8CodeUnitCount,
              (0..<prefix.utf8CodeUnitCount).allSatisfy({ head[$0] == prefix.utf8Start[$0] }) else { return false }
        return withUnsafeTemporaryAllocation(byteCount: 28, alignment: 1) { expected in
            accept(forKey: key, into: expected)
            return scanPlainAcceptance(head, expected: UnsafeRawBufferPointer(expected))
        }
    }

    private static func scanPlainAcceptance(_ head: UnsafeRawBufferPointer, expected: UnsafeRawBufferPointer) -> Bool {
        var upgrade = false, connection = false, accepted = false
        var i = 0
        while i < head.count && head[i] != 10 { i += 1 }           // skip the status line
        i += 1
        while i < head.count {
            var end = i
            while end < head.count && head[end] != 13 && head[end] != 10 { end += 1 }
            if end == i { break }                                    // the blank line
            if let colon = (i..<end).first(where: { head[$0] == UInt8(ascii: ":") }) {
                var v = colon + 1
                while v < end && (head[v] == 32 || head[v] == 9) { v += 1 }
                var e = end
                while e > v && (head[e - 1] == 32 || head[e - 1] == 9) { e -= 1 }
                let name = i..<colon, value = v..<e
                if equalsIgnoringCase(head, name, "upgrade") {
                    upgrade = equalsIgnoringCase(head, value, "websocket")
                } else if equalsIgnoringCase(head, name, "connection") {
                    connection = containsIgnoringCase(head, value, "upgrade")
                } else if equalsIgnoringCase(head, name, "sec-websocket-accept") {
                    accepted = value.count == expected.count && value.enumerated().allSatisfy { head[$1] == expected[$0] }
                } else if equalsIgnoringCase(head, name, "sec-websocket-extensions") || equalsIgnoringCase(head, name, "sec-websocket-protocol") {
                    return false
                }
            }
            i = end
            while i < head.count && (head[i] == 13 || head[i] == 10) { i += 1 }
        }
        return upgrade && connection && accepted
    }

    private static func lower(_ b: UInt8) -> UInt8 { b >= 65 && b <= 90 ? b + 32 : b }

    private static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ word: StaticString) -> Bool {
        guard range.count == word.utf8CodeUnitCount else { return false }
        let w = word.utf8Start
        for (k, i) in range.enumerated() where lower(bytes[i]) != w[k] { return false }
        return true
    }

    private static func containsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ word: StaticString) -> Bool {
        let n = word.utf8CodeUnitCount
        guard range.count >= n else { return false }
        for start in range.lowerBound...(range.upperBound - n) where equalsIgnoringCase(bytes, start..<(start + n), word) { return true }
        return false
    }

    /// Checks the server's response; returns the selected subprotocol, if any.
    public static func validate(_ response: HTTPResponseHead, body: [UInt8], key: String,
                                offeredSubprotocols: [String], offeredExtensions: Bool = false) throws(HandshakeError) -> String? {
        guard response.status == 101 else {
            let prefix = String(decoding: body.prefix(200), as: UTF8.self)
                .replacingControlCharacters().trimmingCharacters()
            throw .unexpectedStatus(status: response.status, reason: response.reason, body: prefix)
        }
        guard response.headers.contains("Upgrade", token: "websocket") else {
            throw .invalidHeader(name: "Upgrade", value: response.headers["Upgrade"])
        }
        guard response.headers.contains("Connection", token: "upgrade") else {
            throw .invalidHeader(name: "Connection", value: response.headers["Connection"])
        }
        let expected = accept(forKey: key)
        guard let received = response.headers["Sec-WebSocket-Accept"] else {
            throw .invalidHeader(name: "Sec-WebSocket-Accept", value: nil)
        }
        guard received == expected else { throw .acceptMismatch(expected: expected, received: received) }
        if !offeredExtensions, let ext = response.headers["Sec-WebSocket-Extensions"], !ext.isEmpty {
            throw .unrequestedExtension(ext)
        }
        if let selected = response.headers["Sec-WebSocket-Protocol"] {
            guard offeredSubprotocols.contains(selected) else { throw .unrequestedSubprotocol(selected) }
            return selected
        }
        return nil
    }
}

/// A request the server refuses to upgrade, and the HTTP answer it gets.
public struct HandshakeRejection: Error, Equatable, Sendable {
    public let status: Int
    public let message: String
    public var extraHeaders: [(String, String)] = []

    public static func == (a: HandshakeRejection, b: HandshakeRejection) -> Bool {
        a.status == b.status && a.message == b.message
    }
}

/// The server side of the RFC 6455 opening handshake.
public enum ServerHandshake {
    /// True when the request asks for a WebSocket upgrade at all.
    public static func isUpgradeRequest(_ request: HTTPRequestHead) -> Bool {
        request.headers.contains("Upgrade", token: "websocket")
    }

    /// Checks an upgrade request; returns the client's key and offered subprotocols.
    public static func validate(_ request: HTTPRequestHead) throws(HandshakeRejection) -> (key: String, subprotocols: [String]) {
        guard request.method == "GET" else { throw HandshakeRejection(status: 405, message: "WebSocket upgrades use GET") }
        guard request.version == "HTTP/1.1" else { throw HandshakeRejection(status: 400, message: "WebSocket upgrades need HTTP/1.1") }
        guard request.headers.contains("Upgrade", token: "websocket"),
              request.headers.contains("Connection", token: "upgrade") else {
            throw HandshakeRejection(status: 426, message: "this endpoint speaks WebSocket: send Upgrade: websocket",
                                     extraHeaders: [("Upgrade", "websocket")])
        }
        guard request.headers["Sec-WebSocket-Version"] == "13" else {
            throw HandshakeRejection(status: 426, message: "unsupported Sec-WebSocket-Version (13 is supported)",
                                     extraHeaders: [("Sec-WebSocket-Version", "13")])
        }
        guard let key = request.headers["Sec-WebSocket-Key"], Base64.decode(key)?.count == 16 else {
            throw HandshakeRejection(status: 400, message: "missing or malformed Sec-WebSocket-Key")
        }
        return (key, request.headers.tokens("Sec-WebSocket-Protocol"))
    }

    /// The 101 response accepting `key`, selecting `subprotocol` if given.
    public static func acceptResponse(key: String, subprotocol: String? = nil, extensions: String? = nil) -> [UInt8] {
        var text = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        text += "Sec-WebSocket-Accept: \(ClientHandshake.accept(forKey: key))\r\n"
        if let subprotocol { text += "Sec-WebSocket-Protocol: \(subprotocol)\r\n" }
        if let extensions { text += "Sec-WebSocket-Extensions: \(extensions)\r\n" }
        text += "\r\n"
        return Array(text.utf8)
    }

    /// A complete HTTP response that ends the connection.
    public static func httpResponse(status: Int, contentType: String = "text/plain; charset=utf-8", body: [UInt8],
                                    extraHeaders: [(String, String)] = []) -> [UInt8] {
        var text = "HTTP/1.1 \(status) \(reasonPhrase(status))\r\nContent-Type: \(contentType)\r\n"
        text += "Content-Length: \(body.count)\r\nConnection: close\r\n"
        for (name, value) in extraHeaders { text += "\(name): \(value)\r\n" }
        text += "\r\n"
        return Array(text.utf8) + body
    }

    static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 200: return "OK"
        case 400: return "Bad Request"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 426: return "Upgrade Required"
        case 431: return "Request Header Fields Too Large"
        case 500: return "Internal Server Error"
        case 503: return "Service Unavailable"
        default: return "Status"
        }
    }
}

extension String {
    func replacingControlCharacters() -> String {
        String(unicodeScalars.map { $0.value < 32 || $0.value == 127 ? " " : Character($0) })
    }
}
