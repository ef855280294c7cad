import Net
#if canImport(Glibc)
import Glibc
#endif

/// One end of a worker-hub socketpair: length-prefixed `HubMessage`s, non-blocking, with a
/// write queue, on an event loop.
final class HubLink: EventHandler {
    let socket: Socket
    unowned(unsafe) let loop: EventLoop
    private var input = ByteQueue()
    private var output = ByteQueue()
    private let onMessage: (HubMessage) -> Void
    private let onClose: () -> Void
    private(set) var isClosed = false

    init(fd: Int32, loop: EventLoop, onMessage: @escaping (HubMessage) -> Void, onClose: @escaping () -> Void) throws(SocketError) {
        socket = Socket(fd: fd)
        self.loop = loop
        self.onMessage = onMessage
        self.onClose = onClose
        try loop.register(fd: fd, interest: .readable, handler: self)
    }

    func send(_ message: HubMessage) {
        guard !isClosed else { return }
        let bytes = message.encode()
        bytes.withUnsafeBytes { output.append($0) }
        flush()
    }

    private func flush() {
        while !output.isEmpty {
            switch socket.write(UnsafeRawBufferPointer(output.readable)) {
            case let .transferred(n): output.consume(n, keepStorage: true)
            case .wouldBlock, .endOfStream:
                loop.setInterest(fd: socket.fd, [.readable, .writable])
                return
            case .failed:
                close()
                return
            }
        }
        loop.setInterest(fd: socket.fd, .readable)
    }

    func handleEvents(_ events: IOEvents) {
        if events.contains(.writable) { flush() }
        guard !isClosed, !events.isDisjoint(with: [.readable, .hangup, .error]) else { return }
        switch socket.read(into: loop.readBuffer) {
        case let .transferred(n):
            input.append(UnsafeRawBufferPointer(rebasing: loop.readBuffer[0..<n]))
            deliverComplete()
        case .wouldBlock:
            break
        case .endOfStream, .failed:
            close()
        }
    }

    private func deliverComplete() {
        while input.count >= 4 {
            let bytes = input.readable
            let length = Int(UInt32(littleEndian: bytes.loadUnaligned(as: UInt32.self)))
            guard input.count >= 4 + length else { return }
            let frame = Array(UnsafeRawBufferPointer(rebasing: bytes[4..<(4 + length)]))
            input.consume(4 + length, keepStorage: true)
            guard let message = try? HubMessage.decode(frame) else {
                close()
                return
            }
            onMessage(message)
            if isClosed { return }
        }
    }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        loop.deregister(fd: socket.fd)
        socket.close()
        onClose()
    }
}
