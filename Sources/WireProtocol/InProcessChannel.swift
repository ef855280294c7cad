import Net

/// A coordinator-agent link inside one process: each end belongs to one event loop, and a
/// message sent on one end is handed to the other end's loop (in order) as the value it is,
/// without encoding. `volley run` without `--agents` runs its in-process agents over these.
public final class InProcessChannel: WireChannel, @unchecked Sendable {
    // @unchecked: an end is used only on its own loop; the other end is reached only through
    // that end's loop's `execute`.
    public weak var delegate: WireChannelDelegate?
    public var authenticated = false
    public let bytesReceived = 0
    public let bytesSent = 0
    public let peerDescription: String
    private unowned(unsafe) let loop: EventLoop
    private weak var peer: InProcessChannel?
    private var isClosed = false

    private init(loop: EventLoop, peerDescription: String) {
        self.loop = loop
        self.peerDescription = peerDescription
    }

    /// Two connected ends: the first used on `loop`, the second on `peerLoop`.
    public static func pair(_ loop: EventLoop, name: String, _ peerLoop: EventLoop, peerName: String) -> (InProcessChannel, InProcessChannel) {
        let a = InProcessChannel(loop: loop, peerDescription: peerName)
        let b = InProcessChannel(loop: peerLoop, peerDescription: name)
        a.peer = b
        b.peer = a
        return (a, b)
    }

    public func send(_ message: WireMessage) {
        guard !isClosed, let peer else { return }
        let target = LoopBound(peer)
        peer.loop.execute { target.value.receive(message) }
    }

    public func send(_ message: WireMessage, thenClose: Bool) {
        send(message)
        if thenClose { close(reason: nil) }
    }

    public func close(reason: String?) {
        guard !isClosed else { return }
        isClosed = true
        if let peer {
            let target = LoopBound(peer)
            peer.loop.execute { target.value.peerClosed(reason ?? "the other end closed the channel") }
        }
        delegate?.wireClosed(self, reason: reason)
    }

    private func receive(_ message: WireMessage) {
        guard !isClosed else { return }
        delegate?.wire(self, received: message)
    }

    private func peerClosed(_ reason: String) {
        guard !isClosed else { return }
        isClosed = true
        delegate?.wireClosed(self, reason: reason)
    }
}
