import Net
#if canImport(Glibc)
import Glibc
#endif

/// Accepts TCP connections on one loop and turns each into a server `WebSocketConnection`
/// whose request is routed by `router`.
public final class WebSocketListener: EventHandler, TimerTarget {
    /// The listening socket.
    public let socket: Socket
    public unowned(unsafe) let loop: EventLoop
    private let router: WebSocketRouter
    private let options: ServerOptions
    /// Called for every accepted connection (before its request arrives).
    public var onAccept: ((WebSocketConnection) -> Void)?
    /// Accept failures by errno name (EMFILE when out of descriptors, ...).
    public private(set) var acceptErrors: [String: Int] = [:]
    private var paused = false

    /// Listens on `address` (SO_REUSEPORT when `reusePort`, so several loops or processes share it).
    public init(address: SocketAddress, loop: EventLoop, router: WebSocketRouter, options: ServerOptions = ServerOptions(),
                reusePort: Bool = false) throws(SocketError) {
        socket = try Socket.listen(on: address, reusePort: reusePort)
        self.loop = loop
        self.router = router
        self.options = options
        do {
            try loop.register(fd: socket.fd, interest: .readable, handler: self)
        } catch {
            socket.close()
            throw error
        }
    }

    /// The address actually bound (useful with port 0).
    public var localAddress: SocketAddress? { socket.localAddress }

    public func handleEvents(_ events: IOEvents) {
        // Bounded, so one busy listener cannot starve the loop's established connections.
        for _ in 0..<256 {
            do {
                guard let (client, peer) = try socket.accept() else { return }
                client.setNoDelay()
                do {
                    let connection = try WebSocketConnection.accept(client, peer: peer, on: loop, router: router, options: options)
                    onAccept?(connection)
                } catch {
                    client.close()
                }
            } catch {
                acceptErrors[error.codeName, default: 0] += 1
                if error.code == EMFILE || error.code == ENFILE || error.code == ENOBUFS || error.code == ENOMEM {
                    // Out of descriptors: stop accepting briefly instead of spinning on a level-triggered event.
                    paused = true
                    loop.setInterest(fd: socket.fd, [])
                    loop.schedule(at: loop.clock.now().advanced(by: Nanoseconds.milliseconds(50)), target: self, token: 0)
                }
                return
            }
        }
    }

    public func timerFired(token: UInt64, now: Instant) {
        guard paused else { return }
        paused = false
        loop.setInterest(fd: socket.fd, .readable)
    }

    /// Stops listening.
    public func close() {
        loop.deregister(fd: socket.fd)
        socket.close()
    }
}
