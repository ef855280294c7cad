import CVolleyLinux
#if canImport(Glibc)
import Glibc
#endif

/// Delivers signals (SIGINT, SIGTERM, SIGCHLD) as events on an event loop through a signalfd.
/// The signals are blocked for the creating thread and the threads it starts afterwards, so
/// create the watcher before starting other threads.
public final class SignalWatcher: EventHandler {
    private let fd: Int32
    private let handler: (Int32) -> Void

    /// Watches `signals`; `handler` runs on `loop`'s thread once per signal received.
    public init(_ signals: [Int32], loop: EventLoop, handler: @escaping (Int32) -> Void) throws(SocketError) {
        fd = signals.withUnsafeBufferPointer { volley_signalfd($0.baseAddress, Int32($0.count)) }
        guard fd >= 0 else { throw SocketError("signalfd") }
        self.handler = handler
        try loop.register(fd: fd, interest: .readable, handler: self)
    }

    deinit { Glibc.close(fd) }

    public func handleEvents(_ events: IOEvents) {
        while true {
            let signal = volley_signalfd_read(fd)
            if signal == 0 { return }
            handler(signal)
        }
    }

    /// The usual stop signals.
    public static let stopSignals: [Int32] = [SIGINT, SIGTERM]
}
