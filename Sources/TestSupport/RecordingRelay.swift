import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A TCP relay on a loopback port that forwards every connection to `upstreamPort` and keeps
/// a copy of every byte in both directions: what an eavesdropper on the link would see.
public final class RecordingRelay: @unchecked Sendable {
    // @unchecked: `recorded` is guarded by `lock`; the rest is immutable after init.
    public let port: UInt16
    private let upstreamPort: UInt16
    private let listener: Int32
    private let lock = NSLock()
    private var recorded: [UInt8] = []
    private var connections = 0

    public init(upstreamPort: UInt16) throws {
        self.upstreamPort = upstreamPort
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        var address = Self.loopback(port: 0)
        var size = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, size) == 0 && getsockname(listener, $0, &size) == 0 }
        }
        guard bound, listen(listener, 16) == 0 else { throw HTTPGet.Failure(description: "relay: cannot listen") }
        port = UInt16(bigEndian: address.sin_port)
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    /// Every byte relayed so far, both directions interleaved.
    public var bytes: [UInt8] { lock.withLock { recorded } }
    /// Connections relayed so far.
    public var connectionCount: Int { lock.withLock { connections } }

    /// True when `text` appears anywhere in what was relayed.
    public func saw(_ text: String) -> Bool {
        let needle = Array(text.utf8), haystack = bytes
        guard !needle.isEmpty, haystack.count >= needle.count else { return false }
        return (0...(haystack.count - needle.count)).contains { i in haystack[i..<(i + needle.count)].elementsEqual(needle) }
    }

    /// Stops accepting (connections in progress end with their peers).
    public func stop() { shutdown(listener, Int32(SHUT_RDWR)); close(listener) }

    private static func loopback(port: UInt16) -> sockaddr_in {
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = port.bigEndian
        a.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return a
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }
            let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = Self.loopback(port: upstreamPort)
            let ok = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
            }
            guard ok else { close(client); close(upstream); continue }
            lock.withLock { connections += 1 }
            let both = DispatchGroup()
            for (source, sink) in [(client, upstream), (upstream, client)] {
                both.enter()
                Thread.detachNewThread { [self] in
                    pump(from: source, to: sink)
                    both.leave()
                }
            }
            both.notify(queue: .global()) {
                close(client)
                close(upstream)
            }
        }
    }

    private func pump(from source: Int32, to sink: Int32) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(source, &buffer, buffer.count, 0)
            guard n > 0 else { break }
            lock.withLock { recorded += buffer[0..<n] }
            var sent = 0
            while sent < n {
                let m = buffer[sent..<n].withUnsafeBytes { send(sink, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                guard m > 0 else { break }
                sent += m
            }
        }
        shutdown(sink, Int32(SHUT_WR))
        shutdown(source, Int32(SHUT_RD))
    }
}
