/// Header fields of an HTTP/1.1 request or response, in order, looked up case-insensitively.
public struct HTTPHeaders: Sendable, Equatable, Sequence {
    public private(set) var fields: [(name: String, value: String)]

    public init(_ fields: [(name: String, value: String)] = []) { self.fields = fields }

    public static func == (a: HTTPHeaders, b: HTTPHeaders) -> Bool {
        a.fields.elementsEqual(b.fields) { $0.name == $1.name && $0.value == $1.value }
    }

    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> { fields.makeIterator() }

    /// Adds a field.
    public mutating func add(_ name: String, _ value: String) { fields.append((name, value)) }

    /// The first value of `name`.
    public subscript(name: String) -> String? {
        let lower = name.lowercased()
        return fields.first { $0.name.lowercased() == lower }?.value
    }

    /// Every value of `name`, in order (one per field line).
    public func values(_ name: String) -> [String] {
        let lower = name.lowercased()
        return fields.filter { $0.name.lowercased() == lower }.map(\.value)
    }

    /// Every comma-separated element of every `name` field, trimmed.
    public func tokens(_ name: String) -> [String] {
        let lower = name.lowercased()
        return fields.filter { $0.name.lowercased() == lower }.flatMap { field in
            field.value.split(separator: ",").map { $0.trimmingCharacters() }.filter { !$0.isEmpty }
        }
    }

    /// True when some `name` field lists `token` (case-insensitive), e.g. Connection: keep-alive, Upgrade.
    public func contains(_ name: String, token: String) -> Bool {
        tokens(name).contains { $0.lowercased() == token.lowercased() }
    }
}

/// The request line and headers of an HTTP/1.1 request.
public struct HTTPRequestHead: Sendable, Equatable {
    public var method: String
    /// The request target as sent ("/rooms/a?x=1").
    public var target: String
    public var version: String
    public var headers: HTTPHeaders

    /// The target's path, without the query.
    public var path: String {
        target.firstIndex(of: "?").map { String(target[..<$0]) } ?? target
    }

    /// The raw query string after '?', if any.
    public var query: String? {
        target.firstIndex(of: "?").map { String(target[target.index(after: $0)...]) }
    }

    /// The percent-decoded value of query parameter `name`.
    public func queryParameter(_ name: String) -> String? {
        guard let query else { return nil }
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if PercentCoding.decode(String(parts[0])) == name {
                return parts.count > 1 ? PercentCoding.decode(String(parts[1])) : ""
            }
        }
        return nil
    }
}

/// The status line and headers of an HTTP/1.1 response.
public struct HTTPResponseHead: Sendable, Equatable {
    public var version: String
    public var status: Int
    public var reason: String
    public var headers: HTTPHeaders
}

/// Why an HTTP head could not be parsed.
public struct HTTPParseError: Error, Equatable, Sendable, CustomStringConvertible {
    public let reason: String
    public var description: String { reason }
}

/// Strict, bounded parsing of HTTP/1.1 heads (request/status line and header fields).
public enum HTTPHeadParser {
    /// Largest head accepted.
    public static let defaultLimit = 16 * 1024

    /// Where the head ends in `bytes`.
    public enum Scan: Equatable {
        case incomplete
        /// The head, including its terminating blank line, is this many bytes.
        case complete(Int)
        case tooLarge
    }

    /// Looks for the blank line that ends a head.
    public static func scan(_ bytes: UnsafeRawBufferPointer, limit: Int = defaultLimit) -> Scan {
        let n = Swift.min(bytes.count, limit)
        var i = 3
        while i < n {
            if bytes[i] == 10 && bytes[i - 1] == 13 && bytes[i - 2] == 10 && bytes[i - 3] == 13 {
                return .complete(i + 1)
            }
            i += 1
        }
        return bytes.count >= limit ? .tooLarge : .incomplete
    }

    /// Parses a request head (`bytes` is exactly the head, as found by `scan`).
    public static func parseRequest(_ bytes: UnsafeRawBufferPointer) throws(HTTPParseError) -> HTTPRequestHead {
        let (first, headers) = try lines(bytes)
        let parts = first.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, parts[1].hasPrefix("/") || parts[1] == "*" || parts[1].contains("://") else {
            throw HTTPParseError(reason: "malformed request line \"\(first.prefix(80))\"")
        }
        guard parts[2].hasPrefix("HTTP/1.") else {
            throw HTTPParseError(reason: "unsupported HTTP version \"\(parts[2].prefix(20))\"")
        }
        return HTTPRequestHead(method: String(parts[0]), target: String(parts[1]), version: String(parts[2]), headers: headers)
    }

    /// Parses a response head (`bytes` is exactly the head, as found by `scan`).
    public static func parseResponse(_ bytes: UnsafeRawBufferPointer) throws(HTTPParseError) -> HTTPResponseHead {
        let (first, headers) = try lines(bytes)
        let parts = first.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), parts[1].count == 3, let status = Int(parts[1]) else {
            throw HTTPParseError(reason: "malformed status line \"\(first.prefix(80))\"")
        }
        return HTTPResponseHead(version: String(parts[0]), status: status,
                                reason: parts.count > 2 ? String(parts[2]) : "", headers: headers)
    }

    private static func lines(_ bytes: UnsafeRawBufferPointer) throws(HTTPParseError) -> (String, HTTPHeaders) {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw HTTPParseError(reason: "head is not valid UTF-8")
        }
        var lines = text.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
        while lines.last == "" { lines.removeLast() }
        guard let first = lines.first, !first.isEmpty else { throw HTTPParseError(reason: "empty head") }
        var headers = HTTPHeaders()
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":"), colon != line.startIndex,
                  !line.hasPrefix(" "), !line.hasPrefix("\t") else {
                throw HTTPParseError(reason: "malformed header line \"\(line.prefix(80))\"")
            }
            let name = String(line[..<colon])
            guard name.allSatisfy({ $0.isLetter || $0.isNumber || "-_!#$%&'*+.^`|~".contains($0) }) else {
                throw HTTPParseError(reason: "invalid header name \"\(name.prefix(40))\"")
            }
            headers.add(name, String(line[line.index(after: colon)...]).trimmingCharacters())
        }
        return (first, headers)
    }
}

/// Percent-encoding of URL components (RFC 3986).
public enum PercentCoding {
    /// Decodes %XX escapes and '+' (as space); invalid escapes are kept as they are.
    public static func decode(_ text: String) -> String {
        var out = [UInt8]()
        let bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "%"), i + 2 < bytes.count, let h = hex(bytes[i + 1]), let l = hex(bytes[i + 2]) {
                out.append(h << 4 | l)
                i += 3
            } else {
                out.append(b == UInt8(ascii: "+") ? UInt8(ascii: " ") : b)
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Encodes everything but unreserved characters.
    public static func encode(_ text: String) -> String {
        var out = ""
        for b in text.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                let digits = Array("0123456789ABCDEF")
                out += "%\(digits[Int(b >> 4)])\(digits[Int(b & 15)])"
            }
        }
        return out
    }

    private static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: return c - 48
        case 65...70: return c - 55
        case 97...102: return c - 87
        default: return nil
        }
    }
}

extension StringProtocol {
    /// The string without leading and trailing spaces and tabs.
    func trimmingCharacters() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
