/// permessage-deflate (RFC 7692) negotiation: what a client offers, what a server accepts, and
/// what both then use. Pure values, tested against the RFC's rules; the compression itself is
/// `RawDeflater`/`RawInflater` (zlib).
public struct DeflateParameters: Equatable, Sendable {
    /// The server starts each message it sends with an empty window.
    public var serverNoContextTakeover = false
    /// The client starts each message it sends with an empty window.
    public var clientNoContextTakeover = false
    /// The window the server compresses with (8...15 bits).
    public var serverMaxWindowBits = 15
    /// The window the client compresses with.
    public var clientMaxWindowBits = 15

    public init() {}

    /// (no context takeover, window bits) of what `role` sends.
    func outbound(_ role: Role) -> (reset: Bool, windowBits: Int) {
        role == .client ? (clientNoContextTakeover, clientMaxWindowBits) : (serverNoContextTakeover, serverMaxWindowBits)
    }

    /// (no context takeover, window bits) of what `role` receives.
    func inbound(_ role: Role) -> (reset: Bool, windowBits: Int) {
        outbound(role == .client ? .server : .client)
    }
}

/// What a client asks for in its offer.
public struct DeflateOffer: Equatable, Sendable {
    public var clientNoContextTakeover = false
    public var serverNoContextTakeover = false
    /// The client's window: nil offers `client_max_window_bits` without a value (the server
    /// may then choose one).
    public var clientMaxWindowBits: Int?
    public var serverMaxWindowBits: Int?

    public init() {}

    /// The Sec-WebSocket-Extensions value.
    public var headerValue: String {
        var text = "permessage-deflate"
        if clientNoContextTakeover { text += "; client_no_context_takeover" }
        if serverNoContextTakeover { text += "; server_no_context_takeover" }
        if let serverMaxWindowBits { text += "; server_max_window_bits=\(serverMaxWindowBits)" }
        text += clientMaxWindowBits.map { "; client_max_window_bits=\($0)" } ?? "; client_max_window_bits"
        return text
    }

    /// Checks the server's Sec-WebSocket-Extensions against this offer; returns what the
    /// connection then uses (nil: the server declined compression).
    public func accept(_ response: String?) throws(HandshakeError) -> DeflateParameters? {
        guard let response, !response.trimmingCharacters().isEmpty else { return nil }
        let extensions = try DeflateNegotiation.parse(response)
        guard extensions.count == 1, extensions[0].name == "permessage-deflate" else {
            throw .unrequestedExtension(response)
        }
        var agreed = DeflateParameters()
        var seen = Set<String>()
        for (name, value) in extensions[0].parameters {
            guard seen.insert(name).inserted else { throw .invalidExtension("\(name) given twice in \"\(response)\"") }
            switch name {
            case "server_no_context_takeover":
                guard value == nil else { throw .invalidExtension("server_no_context_takeover takes no value") }
                agreed.serverNoContextTakeover = true
            case "client_no_context_takeover":
                guard value == nil else { throw .invalidExtension("client_no_context_takeover takes no value") }
                agreed.clientNoContextTakeover = true
            case "server_max_window_bits":
                guard let bits = value.flatMap(DeflateNegotiation.windowBits) else {
                    throw .invalidExtension("server_max_window_bits must be 8 to 15, got \(value ?? "no value")")
                }
                if let offered = serverMaxWindowBits, bits > offered {
                    throw .invalidExtension("server_max_window_bits=\(bits) exceeds the \(offered) offered")
                }
                agreed.serverMaxWindowBits = bits
            case "client_max_window_bits":
                guard let bits = value.flatMap(DeflateNegotiation.windowBits) else {
                    throw .invalidExtension("client_max_window_bits must be 8 to 15, got \(value ?? "no value")")
                }
                if let offered = clientMaxWindowBits, bits > offered {
                    throw .invalidExtension("client_max_window_bits=\(bits) exceeds the \(offered) offered")
                }
                // zlib cannot compress with an 8-bit window (it silently uses 9).
                guard bits >= 9 else { throw .invalidExtension("client_max_window_bits=8 cannot be honored (zlib compresses with 9 at least)") }
                agreed.clientMaxWindowBits = bits
            default:
                throw .invalidExtension("unknown permessage-deflate parameter \(name)")
            }
        }
        if serverMaxWindowBits != nil && !seen.contains("server_max_window_bits") {
            agreed.serverMaxWindowBits = serverMaxWindowBits!
        }
        if clientNoContextTakeover { agreed.clientNoContextTakeover = true }   // what we offered, we keep
        if let bits = clientMaxWindowBits, !seen.contains("client_max_window_bits") { agreed.clientMaxWindowBits = bits }
        return agreed
    }
}

/// How a server answers permessage-deflate offers.
public struct DeflatePolicy: Equatable, Sendable {
    /// Accept permessage-deflate when offered.
    public var enabled = true

    public init(enabled: Bool = true) { self.enabled = enabled }
}

/// Parsing and the server's choice among offers.
public enum DeflateNegotiation {
    /// One extension of a Sec-WebSocket-Extensions header: its name and parameters in order.
    public struct Extension: Equatable, Sendable {
        public var name: String
        public var parameters: [(String, String?)]

        public static func == (a: Extension, b: Extension) -> Bool {
            a.name == b.name && a.parameters.elementsEqual(b.parameters) { $0.0 == $1.0 && $0.1 == $1.1 }
        }
    }

    /// Parses `ext; param; param=value, ext2` (values may be quoted); names are lowercased.
    public static func parse(_ header: String) throws(HandshakeError) -> [Extension] {
        var out: [Extension] = []
        for element in splitOutsideQuotes(header, on: ",") {
            let parts = splitOutsideQuotes(element, on: ";").map { $0.trimmingCharacters() }
            guard let name = parts.first, !name.isEmpty, isToken(name) else {
                throw .invalidExtension("malformed extension \"\(element.trimmingCharacters())\"")
            }
            var parameters: [(String, String?)] = []
            for part in parts.dropFirst() {
                guard !part.isEmpty else { throw .invalidExtension("empty parameter in \"\(element.trimmingCharacters())\"") }
                if let eq = part.firstIndex(of: "=") {
                    let key = part[..<eq].trimmingCharacters()
                    var value = part[part.index(after: eq)...].trimmingCharacters()
                    if value.hasPrefix("\"") {
                        guard value.count >= 2, value.hasSuffix("\"") else { throw .invalidExtension("unterminated quoted value in \"\(part)\"") }
                        value = String(value.dropFirst().dropLast())
                    }
                    guard isToken(key), !value.isEmpty else { throw .invalidExtension("malformed parameter \"\(part)\"") }
                    parameters.append((key.lowercased(), value))
                } else {
                    guard isToken(part) else { throw .invalidExtension("malformed parameter \"\(part)\"") }
                    parameters.append((part.lowercased(), nil))
                }
            }
            out.append(Extension(name: name.lowercased(), parameters: parameters))
        }
        return out
    }

    /// The server's answer to the request's offers: the first permessage-deflate offer it can
    /// honor, with the response header value; nil when none (the connection runs uncompressed).
    public static func choose(_ headerValues: [String], policy: DeflatePolicy) -> (DeflateParameters, response: String)? {
        guard policy.enabled else { return nil }
        for value in headerValues {
            guard let extensions = try? parse(value) else { continue }
            for offer in extensions where offer.name == "permessage-deflate" {
                if let accepted = acceptOffer(offer) { return accepted }
            }
        }
        return nil
    }

    static func acceptOffer(_ offer: Extension) -> (DeflateParameters, response: String)? {
        var agreed = DeflateParameters()
        var response = "permessage-deflate"
        var seen = Set<String>()
        for (name, value) in offer.parameters {
            guard seen.insert(name).inserted else { return nil }
            switch name {
            case "server_no_context_takeover":
                guard value == nil else { return nil }
                agreed.serverNoContextTakeover = true
                response += "; server_no_context_takeover"
            case "client_no_context_takeover":
                guard value == nil else { return nil }
                agreed.clientNoContextTakeover = true
                response += "; client_no_context_takeover"
            case "server_max_window_bits":
                // zlib cannot compress with an 8-bit window: such an offer is declined.
                guard let bits = value.flatMap(windowBits), bits >= 9 else { return nil }
                agreed.serverMaxWindowBits = bits
                response += "; server_max_window_bits=\(bits)"
            case "client_max_window_bits":
                if let value {
                    guard let bits = windowBits(value) else { return nil }
                    agreed.clientMaxWindowBits = bits
                    response += "; client_max_window_bits=\(bits)"
                }
            default:
                return nil
            }
        }
        return (agreed, response)
    }

    static func windowBits(_ text: String) -> Int? {
        guard let v = Int(text), (8...15).contains(v), text.allSatisfy(\.isASCII) , text.first != "0" else { return nil }
        return v
    }

    static func isToken(_ s: some StringProtocol) -> Bool {
        !s.isEmpty && s.utf8.allSatisfy { b in
            b > 32 && b < 127 && !"()<>@,;:\\\"/[]?={}".utf8.contains(b)
        }
    }

    static func splitOutsideQuotes(_ s: String, on separator: Character) -> [String] {
        var parts: [String] = []
        var current = ""
        var quoted = false
        for c in s {
            if c == "\"" { quoted.toggle() }
            if c == separator && !quoted {
                parts.append(current)
                current = ""
            } else {
                current.append(c)
            }
        }
        parts.append(current)
        return parts
    }
}
