import CVolleyLinux
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Several event loops, each on its own thread (one per core by default).
public final class EventLoopGroup: Sendable {
    /// The loops, in index order.
    public let loops: [EventLoop]
    private let threads = Mutex<[pthread_t]>([])

    /// `count` loops (default: one per available core).
    public init(count: Int = Int(volley_cpu_count()), clock: any TimeSource = SystemClock()) throws(SocketError) {
        var loops: [EventLoop] = []
        for i in 0..<Swift.max(1, count) { loops.append(try EventLoop(index: i, clock: clock)) }
        self.loops = loops
    }

    /// Starts one thread per loop. `pinToCores` pins loop i to core i (mod core count).
    public func start(pinToCores: Bool = false, preciseTimers: Bool = false) {
        let cores = Int(volley_cpu_count())
        for loop in loops {
            let cpu = pinToCores ? loop.index % cores : -1
            let thread = LoopThread.spawn(name: "volley-loop-\(loop.index)") {
                if cpu >= 0 { _ = volley_pin_current_thread(Int32(cpu)) }
                if preciseTimers { _ = volley_set_timer_slack_ns(1) }
                loop.run()
            }
            threads.withLock { $0.append(thread) }
        }
        // Wait until every loop is running, so work handed to them is not raced.
        while !loops.allSatisfy(\.isRunning) { usleep(100) }
    }

    /// Stops every loop and waits for their threads to finish.
    public func stopAndJoin() {
        for loop in loops { loop.stop() }
        let joined = threads.withLock { t -> [pthread_t] in
            let all = t
            t.removeAll()
            return all
        }
        for thread in joined { pthread_join(thread, nil) }
    }
}

/// Starts a detached-from-Swift-concurrency OS thread running a closure.
public enum LoopThread {
    /// A started thread, to wait for.
    public struct Handle: @unchecked Sendable {
        let thread: pthread_t
        /// Waits until the thread's closure has returned.
        public func join() { pthread_join(thread, nil) }
    }

    /// Runs `body` on a new named thread.
    public static func start(name: String, _ body: @escaping @Sendable () -> Void) -> Handle {
        Handle(thread: spawn(name: name, body))
    }

    private final class Box {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    /// Creates a joinable pthread running `body`.
    public static func spawn(name: String, _ body: @escaping @Sendable () -> Void) -> pthread_t {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            box.body()
            return nil
        }, box)
        precondition(rc == 0, "pthread_create failed: \(rc)")
        _ = volley_set_thread_name(thread, String(name.prefix(15)))
        return thread
    }
}
