#if canImport(Glibc)
import Glibc
#endif

/// An IPv4 or IPv6 address.
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    /// IPv4, in host byte order.
    case v4(UInt32)
    /// IPv6, as 16 bytes in network order (high and low halves in host order).
    case v6(high: UInt64, low: UInt64)

    /// Parses dotted-quad IPv4 or textual IPv6 (brackets allowed); nil if neither.
    public init?(_ text: String) {
        var t = text
        if t.hasPrefix("[") && t.hasSuffix("]") { t = String(t.dropFirst().dropLast()) }
        var v4 = in_addr()
        if inet_pton(AF_INET, t, &v4) == 1 {
            self = .v4(UInt32(bigEndian: v4.s_addr))
            return
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, t, &v6) == 1 {
            self = IPAddress(in6: v6)
            return
        }
        return nil
    }

    init(in6 address: in6_addr) {
        var a = address
        let bytes = withUnsafeBytes(of: &a) { Array($0) }
        var high: UInt64 = 0, low: UInt64 = 0
        for i in 0..<8 { high = high << 8 | UInt64(bytes[i]) }
        for i in 8..<16 { low = low << 8 | UInt64(bytes[i]) }
        self = .v6(high: high, low: low)
    }

    /// True for 127.0.0.0/8 and ::1.
    public var isLoopback: Bool {
        switch self {
        case let .v4(a): return a >> 24 == 127
        case let .v6(h, l): return h == 0 && l == 1
        }
    }

    /// The address family (AF_INET or AF_INET6).
    public var family: Int32 {
        switch self {
        case .v4: return AF_INET
        case .v6: return AF_INET6
        }
    }

    public var description: String {
        switch self {
        case let .v4(a):
            return "\(a >> 24).\(a >> 16 & 255).\(a >> 8 & 255).\(a & 255)"
        case .v6:
            var storage = sockaddr_storage()
            SocketAddress(ip: self, port: 0).write(into: &storage)
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            withUnsafePointer(to: &storage) { ptr in
                ptr.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                    var addr = sin6.pointee.sin6_addr
                    _ = inet_ntop(AF_INET6, &addr, &text, socklen_t(text.count))
                }
            }
            return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }
}

/// An IP address and TCP port.
public struct SocketAddress: Hashable, Sendable, CustomStringConvertible {
    public var ip: IPAddress
    public var port: UInt16

    public init(ip: IPAddress, port: UInt16) {
        self.ip = ip
        self.port = port
    }

    /// Parses "1.2.3.4:80", "[::1]:80" or, with `defaultPort`, a bare address.
    public init?(_ text: String, defaultPort: UInt16? = nil) {
        if let ip = IPAddress(text), let defaultPort {
            self.init(ip: ip, port: defaultPort)
            return
        }
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]),
              let ip = IPAddress(String(text[..<colon])) else { return nil }
        if case .v6 = ip, !text.hasPrefix("[") { return nil }
        self.init(ip: ip, port: port)
    }

    public var description: String {
        if case .v6 = ip { return "[\(ip)]:\(port)" }
        return "\(ip):\(port)"
    }

    /// Fills a sockaddr_storage and returns the length to pass to the kernel.
    @discardableResult
    public func write(into storage: inout sockaddr_storage) -> socklen_t {
        storage = sockaddr_storage()
        return withUnsafeMutablePointer(to: &storage) { ptr in
            switch ip {
            case let .v4(a):
                return ptr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                    sin.pointee.sin_family = sa_family_t(AF_INET)
                    sin.pointee.sin_port = port.bigEndian
                    sin.pointee.sin_addr.s_addr = a.bigEndian
                    return socklen_t(MemoryLayout<sockaddr_in>.size)
                }
            case let .v6(high, low):
                return ptr.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                    sin6.pointee.sin6_family = sa_family_t(AF_INET6)
                    sin6.pointee.sin6_port = port.bigEndian
                    withUnsafeMutableBytes(of: &sin6.pointee.sin6_addr) { raw in
                        for i in 0..<8 { raw[i] = UInt8(truncatingIfNeeded: high >> (56 - 8 * UInt64(i))) }
                        for i in 0..<8 { raw[8 + i] = UInt8(truncatingIfNeeded: low >> (56 - 8 * UInt64(i))) }
                    }
                    return socklen_t(MemoryLayout<sockaddr_in6>.size)
                }
            }
        }
    }

    /// Reads an address the kernel filled in (accept, getsockname); nil for other families.
    public init?(storage: sockaddr_storage) {
        var s = storage
        let parsed: SocketAddress? = withUnsafePointer(to: &s) { ptr in
            switch Int32(ptr.pointee.ss_family) {
            case AF_INET:
                return ptr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                    SocketAddress(ip: .v4(UInt32(bigEndian: sin.pointee.sin_addr.s_addr)), port: UInt16(bigEndian: sin.pointee.sin_port))
                }
            case AF_INET6:
                return ptr.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                    SocketAddress(ip: IPAddress(in6: sin6.pointee.sin6_addr), port: UInt16(bigEndian: sin6.pointee.sin6_port))
                }
            default:
                return nil
            }
        }
        guard let parsed else { return nil }
        self = parsed
    }
}

/// An address range in CIDR notation ("10.0.0.0/8", "::1/128"), for target allow-lists.
public struct IPNetwork: Hashable, Sendable, CustomStringConvertible {
    public let address: IPAddress
    public let prefixLength: Int

    /// Parses "ADDR/LEN" or a single address (a /32 or /128).
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let ip = IPAddress(String(parts[0])) else { return nil }
        let maximum = ip.family == AF_INET ? 32 : 128
        if parts.count == 2 {
            guard let n = Int(parts[1]), (0...maximum).contains(n) else { return nil }
            prefixLength = n
        } else {
            prefixLength = maximum
        }
        address = ip
    }

    /// True when `ip` lies in this network.
    public func contains(_ ip: IPAddress) -> Bool {
        switch (address, ip) {
        case let (.v4(net), .v4(a)):
            guard prefixLength > 0 else { return true }
            let mask = UInt32.max << (32 - prefixLength)
            return net & mask == a & mask
        case let (.v6(nh, nl), .v6(ah, al)):
            if prefixLength <= 64 {
                guard prefixLength > 0 else { return true }
                let mask = UInt64.max << (64 - prefixLength)
                return nh & mask == ah & mask
            }
            let mask = prefixLength == 128 ? UInt64.max : UInt64.max << (128 - prefixLength)
            return nh == ah && nl & mask == al & mask
        default:
            return false
        }
    }

    public var description: String { "\(address)/\(prefixLength)" }
}
