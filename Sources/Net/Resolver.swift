import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// Why a host name could not be resolved.
public struct ResolveError: Error, Equatable, Sendable, CustomStringConvertible {
    public let host: String
    public let reason: String
    public var description: String { "cannot resolve \"\(host)\": \(reason)" }
}

/// Host name resolution (getaddrinfo). It blocks, so it never runs on an event loop.
public enum Resolver {
    /// Resolves `host` (a name or an IP literal) to TCP addresses, IPv4 first.
    public static func resolve(host: String, port: UInt16) throws(ResolveError) -> [SocketAddress] {
        if let ip = IPAddress(host) { return [SocketAddress(ip: ip, port: port)] }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            throw ResolveError(host: host, reason: String(cString: gai_strerror(rc)))
        }
        defer { freeaddrinfo(first) }
        var out: [SocketAddress] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            if let sa = info.pointee.ai_addr {
                var storage = sockaddr_storage()
                withUnsafeMutableBytes(of: &storage) { dst in
                    dst.copyMemory(from: UnsafeRawBufferPointer(start: sa, count: Int(info.pointee.ai_addrlen)))
                }
                if let address = SocketAddress(storage: storage), !out.contains(address) { out.append(address) }
            }
            cursor = info.pointee.ai_next
        }
        guard !out.isEmpty else { throw ResolveError(host: host, reason: "no TCP addresses") }
        return out.sorted { $0.ip.family == AF_INET && $1.ip.family != AF_INET }
    }

    /// Resolves on a background thread and calls `completion` on `loop`'s thread.
    public static func resolve(host: String, port: UInt16, on loop: EventLoop,
                               completion: @escaping @Sendable (Result<[SocketAddress], ResolveError>) -> Void) {
        DispatchQueue.global().async {
            let result: Result<[SocketAddress], ResolveError>
            do throws(ResolveError) { result = .success(try resolve(host: host, port: port)) } catch { result = .failure(error) }
            loop.execute { completion(result) }
        }
    }
}
