import Net
import Synchronization
import WebSocket

/// volley's own WebSocket server on a loop thread of its own, echoing every message: the peer
/// of transport tests (TLS, compression) without the bundled target's routes.
public final class EchoServer: @unchecked Sendable {
    /// The port it listens on (127.0.0.1).
    public let port: UInt16
    private let loop: EventLoop
    private let thread: LoopThread.Handle
    private let router: Router
    /// How server connections ended, as they end.
    public var outcomes: [CloseOutcome] { router.outcomes.withLock { $0 } }
    /// TLS handshakes the server completed, and how many resumed a session.
    public var secured: (handshakes: Int, resumed: Int) { router.secured.withLock { $0 } }

    public init(options: ServerOptions = ServerOptions()) throws {
        let loop = try EventLoop()
        let router = Router()
        let listener = try WebSocketListener(address: SocketAddress(ip: .v4(0x7F00_0001), port: 0), loop: loop, router: router,
                                             options: options)
        port = listener.localAddress!.port
        self.loop = loop
        self.router = router
        nonisolated(unsafe) let owned = listener   // used on the loop's thread only from here on
        thread = LoopThread.start(name: "echo-server") {
            loop.run()
            owned.close()
        }
    }

    deinit {
        loop.stop()
        thread.join()
    }

    final class Router: WebSocketRouter, WebSocketDelegate, @unchecked Sendable {
        let outcomes = Mutex<[CloseOutcome]>([])
        let secured = Mutex((handshakes: 0, resumed: 0))

        func route(_ request: HTTPRequestHead, connection: WebSocketConnection) -> ServerRoute {
            .upgrade(self, subprotocol: nil)
        }

        func webSocketDidOpen(_ connection: WebSocketConnection) {}

        func connectionDidSecure(_ connection: WebSocketConnection, nanoseconds: Int64, resumed: Bool) {
            secured.withLock {
                $0.handshakes += 1
                if resumed { $0.resumed += 1 }
            }
        }

        func webSocket(_ connection: WebSocketConnection, didReceive payload: UnsafeRawBufferPointer, opcode: Opcode) {
            connection.send(opcode, payload)
        }

        func webSocket(_ connection: WebSocketConnection, didCloseWith outcome: CloseOutcome) {
            outcomes.withLock { $0.append(outcome) }
        }

        func connectionDidEnd(_ connection: WebSocketConnection, beforeUpgrade outcome: CloseOutcome) {
            outcomes.withLock { $0.append(outcome) }
        }
    }
}
