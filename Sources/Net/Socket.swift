import CVolleyLinux
#if canImport(Glibc)
import Glibc
#endif

/// What a non-blocking read or write did.
public enum IOResult: Equatable, Sendable {
    /// This many bytes were transferred (more than zero).
    case transferred(Int)
    /// The socket is not ready; wait for readiness.
    case wouldBlock
    /// The peer closed its side (read returned 0).
    case endOfStream
    /// The operation failed with this errno.
    case failed(Int32)
}

/// A non-blocking TCP socket file descriptor and the operations on it.
///
/// A value type: copying it does not duplicate the descriptor; whoever owns the connection
/// closes it exactly once.
public struct Socket: Hashable, Sendable {
    /// The file descriptor.
    public let fd: Int32

    public init(fd: Int32) { self.fd = fd }

    /// Starts a non-blocking TCP connect to `remote`, optionally from `local` (an address, and a
    /// port or 0 for any). Returns the socket and whether the connect completed immediately.
    public static func connect(to remote: SocketAddress, from local: IPAddress? = nil, noDelay: Bool = true) throws(SocketError) -> (Socket, connected: Bool) {
        let fd = volley_socket_tcp(remote.ip.family)
        guard fd >= 0 else { throw SocketError("socket", address: remote) }
        let socket = Socket(fd: fd)
        if noDelay { _ = volley_set_nodelay(fd, 1) }
        if let local {
            // Let connect() choose the port, so many connections can share one source address
            // (each remote address/port pair has its own 64k ports).
            _ = volley_set_bind_address_no_port(fd)
            var storage = sockaddr_storage()
            let length = SocketAddress(ip: local, port: 0).write(into: &storage)
            let rc = withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, length) }
            }
            guard rc == 0 else {
                let e = SocketError("bind", address: SocketAddress(ip: local, port: 0))
                socket.close()
                throw e
            }
        }
        var storage = sockaddr_storage()
        let length = remote.write(into: &storage)
        let rc = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, length) }
        }
        if rc == 0 { return (socket, true) }
        let code = errno
        guard code == EINPROGRESS else {
            socket.close()
            throw SocketError("connect", address: remote, code: code)
        }
        return (socket, false)
    }

    /// Opens a listening socket on `address` (SO_REUSEADDR always; SO_REUSEPORT on request so
    /// several processes can share the port).
    public static func listen(on address: SocketAddress, backlog: Int32 = 4096, reusePort: Bool = false) throws(SocketError) -> Socket {
        let fd = volley_socket_tcp(address.ip.family)
        guard fd >= 0 else { throw SocketError("socket", address: address) }
        let socket = Socket(fd: fd)
        _ = volley_set_reuseaddr(fd, 1)
        if reusePort { _ = volley_set_reuseport(fd, 1) }
        var storage = sockaddr_storage()
        let length = address.write(into: &storage)
        let rc = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, length) }
        }
        guard rc == 0 else {
            let e = SocketError("bind", address: address)
            socket.close()
            throw e
        }
        guard Glibc.listen(fd, backlog) == 0 else {
            let e = SocketError("listen", address: address)
            socket.close()
            throw e
        }
        return socket
    }

    /// Accepts one pending connection: nil when none is pending.
    public func accept() throws(SocketError) -> (Socket, SocketAddress?)? {
        var storage = sockaddr_storage()
        var length = socklen_t(0)
        let fd = volley_accept(self.fd, &storage, &length)
        if fd >= 0 { return (Socket(fd: fd), SocketAddress(storage: storage)) }
        let code = errno
        if code == EAGAIN || code == EWOULDBLOCK || code == ECONNABORTED || code == EINTR { return nil }
        throw SocketError("accept", address: localAddress, code: code)
    }

    /// Reads into `buffer`.
    @inlinable
    public func read(into buffer: UnsafeMutableRawBufferPointer) -> IOResult {
        let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
        if n > 0 { return .transferred(n) }
        if n == 0 { return .endOfStream }
        let code = errno
        return code == EAGAIN || code == EWOULDBLOCK || code == EINTR ? .wouldBlock : .failed(code)
    }

    /// Reads into `buffer` without consuming: the bytes stay queued for the next read (used to
    /// tell a TLS peer from a plaintext one before handing the socket to OpenSSL).
    public func peek(into buffer: UnsafeMutableRawBufferPointer) -> IOResult {
        let n = Glibc.recv(fd, buffer.baseAddress, buffer.count, Int32(MSG_PEEK))
        if n > 0 { return .transferred(n) }
        if n == 0 { return .endOfStream }
        let code = errno
        return code == EAGAIN || code == EWOULDBLOCK || code == EINTR ? .wouldBlock : .failed(code)
    }

    /// Writes from `buffer` (possibly only part of it). Uses write(2), the cheapest path into the
    /// socket; processes using volley ignore SIGPIPE (`ProcessSetup.ignoreBrokenPipes()`), so a closed
    /// peer shows as EPIPE instead of a signal.
    @inlinable
    public func write(_ buffer: UnsafeRawBufferPointer) -> IOResult {
        let n = Glibc.write(fd, buffer.baseAddress, buffer.count)
        if n >= 0 { return .transferred(n) }
        let code = errno
        return code == EAGAIN || code == EWOULDBLOCK || code == EINTR ? .wouldBlock : .failed(code)
    }

    /// Writes two buffers with one system call (a frame header and its payload).
    @inlinable
    public func write(_ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer) -> IOResult {
        var vectors = (iovec(iov_base: UnsafeMutableRawPointer(mutating: first.baseAddress), iov_len: first.count),
                       iovec(iov_base: UnsafeMutableRawPointer(mutating: second.baseAddress), iov_len: second.count))
        // sendmsg rather than writev: only send-family calls take MSG_NOSIGNAL (no SIGPIPE).
        let n = withUnsafeMutablePointer(to: &vectors) {
            $0.withMemoryRebound(to: iovec.self, capacity: 2) { iov -> Int in
                var message = msghdr()
                message.msg_iov = iov
                message.msg_iovlen = 2
                return Glibc.sendmsg(fd, &message, Int32(MSG_NOSIGNAL))
            }
        }
        if n >= 0 { return .transferred(n) }
        let code = errno
        return code == EAGAIN || code == EWOULDBLOCK || code == EINTR ? .wouldBlock : .failed(code)
    }

    /// The pending error of a socket (after a non-blocking connect completes), 0 if none.
    public var pendingError: Int32 { volley_socket_error(fd) }

    /// The local address the socket is bound to.
    public var localAddress: SocketAddress? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return rc == 0 ? SocketAddress(storage: storage) : nil
    }

    /// Shuts down the sending side (FIN) while still reading.
    public func shutdownWrite() { _ = Glibc.shutdown(fd, Int32(SHUT_WR)) }

    /// Makes the next close send RST instead of FIN (no TIME_WAIT; used when abandoning connections).
    public func setResetOnClose() { _ = volley_set_linger_reset(fd) }

    /// Closes the descriptor.
    public func close() { _ = Glibc.close(fd) }
}

extension Socket {
    /// Enables or disables TCP_NODELAY (Nagle's algorithm off: small frames go out at once).
    public func setNoDelay(_ on: Bool = true) { _ = volley_set_nodelay(fd, on ? 1 : 0) }

    /// A connected pair of non-blocking, close-on-exec UNIX stream sockets (a worker's link
    /// to its supervisor; a test's end of a connection).
    public static func pair() throws(SocketError) -> (Socket, Socket) {
        var fds: [Int32] = [0, 0]
        guard volley_socketpair(&fds) == 0 else { throw SocketError("socketpair") }
        return (Socket(fd: fds[0]), Socket(fd: fds[1]))
    }
}

/// Process-wide settings every volley process makes at start.
public enum ProcessSetup {
    /// Ignores SIGPIPE, so writing to a connection the peer closed returns EPIPE.
    public static func ignoreBrokenPipes() { volley_ignore_sigpipe() }
}
