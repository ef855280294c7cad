import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A one-shot HTTP server on a free loopback port for webhook tests: accepts connections,
/// records each request (head and body) and answers with `status`.
public final class HTTPReceiver: @unchecked Sendable {
    public struct Request: Sendable {
        public let head: String
        public let body: String
    }

    public let port: UInt16
    private let fd: Int32
    private let lock = NSLock()
    private var received: [Request] = []
    private let status: Int

    /// Starts listening; every request gets `status`.
    public init(status: Int = 200) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else { throw HTTPGet.Failure(description: "cannot listen: \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        port = UInt16(bigEndian: address.sin_port)
        self.fd = fd
        self.status = status
        Thread { [self] in serve() }.start()
    }

    private func serve() {
            while true {
                let client = accept(fd, nil, nil)
                if client < 0 { return }
                var data = [UInt8]()
                var buffer = [UInt8](repeating: 0, count: 65536)
                var request: Request?
                while request == nil {
                    let n = read(client, &buffer, buffer.count)
                    if n <= 0 { break }
                    data += buffer[0..<n]
                    request = Self.parse(data)
                }
                if let request {
                    lock.lock()
                    received.append(request)
                    lock.unlock()
                }
                let reply = "HTTP/1.1 \(status) \(status == 200 ? "OK" : "Error")\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                _ = reply.withCString { write(client, $0, strlen($0)) }
                close(client)
            }
    }

    /// The requests so far.
    public var requests: [Request] {
        lock.lock()
        defer { lock.unlock() }
        return received
    }

    /// Stops accepting.
    public func stop() {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }

    /// A complete request in `data` (head, and the body of Content-Length bytes), or nil.
    static func parse(_ data: [UInt8]) -> Request? {
        guard let end = (0..<Swift.max(0, data.count - 3)).first(where: { data[$0] == 13 && data[$0 + 1] == 10 && data[$0 + 2] == 13 && data[$0 + 3] == 10 }) else { return nil }
        let head = String(decoding: data[0..<end], as: UTF8.self)
        let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
            .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
        guard data.count >= end + 4 + length else { return nil }
        return Request(head: head, body: String(decoding: data[(end + 4)..<(end + 4 + length)], as: UTF8.self))
    }
}
