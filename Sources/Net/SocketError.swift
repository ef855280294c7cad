#if canImport(Glibc)
import Glibc
#endif

/// A failed socket operation: what was attempted, on which address, and the system's reason.
public struct SocketError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The operation, e.g. "connect", "bind", "listen", "read".
    public let operation: String
    /// The address involved, when there is one.
    public let address: SocketAddress?
    /// The errno value.
    public let code: Int32

    public init(_ operation: String, address: SocketAddress? = nil, code: Int32 = errno) {
        self.operation = operation
        self.address = address
        self.code = code
    }

    /// The symbolic errno name, e.g. "ECONNREFUSED".
    public var codeName: String { Self.name(of: code) }

    public var description: String {
        let target = address.map { " \(operation == "connect" ? "to" : "on") \($0)" } ?? ""
        return "\(operation)\(target) failed: \(String(cString: strerror(code))) (\(codeName))"
    }

    static func name(of code: Int32) -> String {
        switch code {
        case ECONNREFUSED: return "ECONNREFUSED"
        case ECONNRESET: return "ECONNRESET"
        case ETIMEDOUT: return "ETIMEDOUT"
        case EHOSTUNREACH: return "EHOSTUNREACH"
        case ENETUNREACH: return "ENETUNREACH"
        case EADDRINUSE: return "EADDRINUSE"
        case EADDRNOTAVAIL: return "EADDRNOTAVAIL"
        case EMFILE: return "EMFILE"
        case ENFILE: return "ENFILE"
        case EPIPE: return "EPIPE"
        case EACCES: return "EACCES"
        case EINVAL: return "EINVAL"
        case ENOBUFS: return "ENOBUFS"
        case ENOMEM: return "ENOMEM"
        case EAGAIN: return "EAGAIN"
        case EINPROGRESS: return "EINPROGRESS"
        case ECONNABORTED: return "ECONNABORTED"
        default: return "errno \(code)"
        }
    }
}
