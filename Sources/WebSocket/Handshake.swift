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

    /// A fresh Sec-WebSocket-Key from 16 random bytes.
    public static func makeKey<R: RandomNumberGenerator>(using rng: inout R) -> String {
        var bytes = [UInt8]()
        for _ in 0..<2 {
            let v = rng.next()
            for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) }
        }
        return Base64.encode(bytes)
    }

    /// The upgrade request for `url`.
    public static func request(url: WebSocketURL, key: String, subprotocols: [String] = [],
                               headers: [(name: String, value: String)] = []) -> [UInt8] {
        var text = "GET \(url.target) HTTP/1.1\r\nHost: \(url.hostHeader)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        text += "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n"
        if !subprotocols.isEmpty { text += "Sec-WebSocket-Protocol: \(subprotocols.joined(separator: ", "))\r\n" }
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        text += "\r\n"
        return Array(text.utf8)
    }

    /// Checks the server's response; returns the selected subprotocol, if any.
    public static func validate(_ response: HTTPResponseHead, body: [UInt8], key: String,
                                offeredSubprotocols: [String]) throws(HandshakeError) -> String? {
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
        if let ext = response.headers["Sec-WebSocket-Extensions"], !ext.isEmpty {
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
    public static func acceptResponse(key: String, subprotocol: String? = nil) -> [UInt8] {
        var text = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        text += "Sec-WebSocket-Accept: \(ClientHandshake.accept(forKey: key))\r\n"
        if let subprotocol { text += "Sec-WebSocket-Protocol: \(subprotocol)\r\n" }
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
