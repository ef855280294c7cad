import CVolleyLinux
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// An object that owns a file descriptor registered with an event loop.
public protocol EventHandler: AnyObject {
    /// Called on the loop's thread with the readiness events (an `IOEvents` bit set).
    func handleEvents(_ events: IOEvents)
}

/// Readiness interest and events, as epoll bits.
public struct IOEvents: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let readable = IOEvents(rawValue: VOLLEY_EPOLLIN)
    public static let writable = IOEvents(rawValue: VOLLEY_EPOLLOUT)
    public static let error = IOEvents(rawValue: VOLLEY_EPOLLERR)
    public static let hangup = IOEvents(rawValue: VOLLEY_EPOLLHUP)
    /// Something to read: data, the peer's close, or an error to collect by reading.
    public static let readableOrClosed = IOEvents(rawValue: VOLLEY_EPOLLIN | VOLLEY_EPOLLHUP | VOLLEY_EPOLLERR)
    /// A connect finished, one way or the other.
    public static let connectDone = IOEvents(rawValue: VOLLEY_EPOLLOUT | VOLLEY_EPOLLHUP | VOLLEY_EPOLLERR)
}

/// One epoll event loop, run by one thread, owning the sockets, timers and buffers of the
/// connections registered with it.
///
/// Everything except `execute`, `stop` and `wakeUp` must be called on the loop's own thread;
/// that is what makes the loop's state lock-free. (`@unchecked Sendable` because the loop is
/// handed to other threads only to call those three.)
public final class EventLoop: @unchecked Sendable {
    /// Position of this loop in its group.
    public let index: Int
    /// Where timers read the time.
    public let clock: any TimeSource

    /// A receive buffer shared by every connection of this loop: data is parsed in place and
    /// only an incomplete tail is copied into the connection.
    public let readBuffer: UnsafeMutableRawBufferPointer
    /// Scratch space for building outgoing frames; grows on demand and is reused.
    public private(set) var scratch: UnsafeMutableRawBufferPointer

    /// State of the loop's random number generator (masking keys, jitter): xorshift64*.
    @usableFromInline var randomState: UInt64

    private let epollFD: Int32
    private let wakeFD: Int32
    private var slots: [Slot] = []
    private var timers = TimerHeap()
    private let inbox = Mutex<[Task]>([])
    /// The tasks being run, swapped with the inbox under its lock so that neither array is
    /// reallocated in the steady state (handing work to a loop allocates nothing on the loop).
    private var runningTasks: [Task] = []

    /// A task handed to the loop. A struct around the closure, because a bare closure stored in
    /// an array is re-abstracted through a thunk allocated on every append.
    private struct Task {
        let body: @Sendable () -> Void
    }
    private let stopRequested = Atomic<Bool>(false)
    private let running = Atomic<Bool>(false)
    private var events: UnsafeMutablePointer<volley_epoll_event>
    private static let maxEvents = 1024
    private static let wakeToken: UInt64 = .max
    /// Kernel thread id of the thread running the loop (0 when not running).
    private let threadID = Atomic<Int32>(0)

    private struct Slot {
        var handler: EventHandler?
        var generation: UInt32 = 0
        var interest: UInt32 = 0
    }

    /// A loop whose timers read `clock`.
    public init(index: Int = 0, clock: any TimeSource = SystemClock(), readBufferSize: Int = 256 * 1024) throws(SocketError) {
        // Sockets are written with write(2): a peer that closed must show as EPIPE, not kill the
        // process with SIGPIPE. (Process-wide and idempotent.)
        volley_ignore_sigpipe()
        self.index = index
        self.clock = clock
        epollFD = volley_epoll_create()
        guard epollFD >= 0 else { throw SocketError("epoll_create") }
        wakeFD = volley_eventfd()
        guard wakeFD >= 0 else { throw SocketError("eventfd") }
        guard volley_epoll_add(epollFD, wakeFD, VOLLEY_EPOLLIN, Self.wakeToken) == 0 else { throw SocketError("epoll_ctl") }
        randomState = UInt64(bitPattern: volley_monotonic_ns() ^ Int64(index) << 40) &* 0x9E37_79B9_7F4A_7C15 | 1
        readBuffer = .allocate(byteCount: readBufferSize, alignment: 16)
        scratch = .allocate(byteCount: 64 * 1024, alignment: 16)
        events = .allocate(capacity: Self.maxEvents)
    }

    deinit {
        readBuffer.deallocate()
        scratch.deallocate()
        events.deallocate()
        Glibc.close(epollFD)
        Glibc.close(wakeFD)
    }

    /// Compression buffers and shared streams of this loop's connections (made on first use).
    public var compression: CompressionScratch {
        if let compressionScratch { return compressionScratch }
        let made = CompressionScratch()
        compressionScratch = made
        return made
    }
    private var compressionScratch: CompressionScratch?

    /// True when called from the thread running this loop.
    public var inLoopThread: Bool { threadID.load(ordering: .relaxed) == volley_thread_id() }

    /// Scratch space of at least `count` bytes (valid until the next call).
    @inlinable
    public func scratch(atLeast count: Int) -> UnsafeMutableRawBufferPointer {
        if _slowPath(count > scratch.count) { growScratch(count) }
        return scratch
    }

    @usableFromInline
    func growScratch(_ count: Int) {
        scratch.deallocate()
        var size = 64 * 1024
        while size < count { size *= 2 }
        scratch = .allocate(byteCount: size, alignment: 16)
    }

    /// A fast pseudo-random number (not for secrets): WebSocket masking keys, jitter.
    @inlinable
    public func nextRandom() -> UInt64 {
        randomState ^= randomState >> 12
        randomState ^= randomState << 25
        randomState ^= randomState >> 27
        return randomState &* 0x2545_F491_4F6C_DD1D
    }

    // MARK: Registration

    /// Registers `handler` for events on `fd` with the given interest.
    public func register(fd: Int32, interest: IOEvents, handler: EventHandler) throws(SocketError) {
        let index = Int(fd)
        if index >= slots.count { slots.append(contentsOf: repeatElement(Slot(), count: Swift.max(index + 1 - slots.count, slots.count))) }
        slots[index].generation &+= 1
        slots[index].handler = handler
        slots[index].interest = interest.rawValue
        guard volley_epoll_add(epollFD, fd, interest.rawValue, token(fd)) == 0 else {
            slots[index].handler = nil
            throw SocketError("epoll_ctl(add)")
        }
    }

    /// Changes the interest of a registered descriptor (no system call when unchanged).
    @inlinable
    public func setInterest(fd: Int32, _ interest: IOEvents) {
        updateInterest(fd: fd, interest.rawValue)
    }

    @usableFromInline
    func updateInterest(fd: Int32, _ interest: UInt32) {
        let index = Int(fd)
        guard index < slots.count, slots[index].handler != nil, slots[index].interest != interest else { return }
        slots[index].interest = interest
        _ = volley_epoll_modify(epollFD, fd, interest, token(fd))
    }

    /// Stops delivering events for `fd`. With `closing: true` the caller closes the descriptor
    /// right after, which removes it from epoll anyway, so no system call is made.
    public func deregister(fd: Int32, closing: Bool = false) {
        let index = Int(fd)
        guard index < slots.count, slots[index].handler != nil else { return }
        slots[index].handler = nil
        slots[index].generation &+= 1
        if !closing { _ = volley_epoll_remove(epollFD, fd) }
    }

    private func token(_ fd: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: fd)) | UInt64(slots[Int(fd)].generation) << 32
    }

    // MARK: Timers

    /// Fires `target.timerFired(token:now:)` on this loop at `deadline` (or as soon after as it can).
    @inlinable
    public func schedule(at deadline: Instant, target: TimerTarget, token: UInt64) {
        addTimer(deadline, target, token)
    }

    @usableFromInline
    func addTimer(_ deadline: Instant, _ target: TimerTarget, _ token: UInt64) {
        timers.schedule(at: deadline, target: target, token: token)
    }

    /// Runs `body` on this loop after `nanoseconds` (convenience for work off the hot path).
    public func schedule(after nanoseconds: Int64, _ body: @escaping () -> Void) {
        timers.schedule(at: clock.now().advanced(by: nanoseconds), target: ClosureTimer(body), token: 0)
    }

    /// When the earliest pending timer is due (tests step a manual clock from deadline to deadline).
    public var nextTimerDeadline: Instant? { timers.earliestDeadline }

    // MARK: Cross-thread

    /// Runs `task` on the loop's thread soon. Safe to call from any thread.
    public func execute(_ task: @escaping @Sendable () -> Void) {
        inbox.withLock { $0.append(Task(body: task)) }
        wakeUp()
    }

    /// Interrupts the loop's wait. Safe to call from any thread.
    public func wakeUp() {
        _ = volley_eventfd_signal(wakeFD)
    }

    /// Asks the loop to return from `run()` after the current iteration. Safe from any thread.
    public func stop() {
        stopRequested.store(true, ordering: .releasing)
        wakeUp()
    }

    /// True while `run()` is executing.
    public var isRunning: Bool { running.load(ordering: .acquiring) }

    // MARK: Running

    /// Runs the loop on the calling thread until `stop()`.
    public func run() {
        threadID.store(volley_thread_id(), ordering: .releasing)
        running.store(true, ordering: .releasing)
        defer {
            running.store(false, ordering: .releasing)
            threadID.store(0, ordering: .releasing)
        }
        while !stopRequested.load(ordering: .acquiring) {
            runOnce(maximumWait: -1)
        }
        stopRequested.store(false, ordering: .releasing)
        runInbox()
    }

    /// One iteration: wait for events (at most `maximumWait` ns; negative means until the next
    /// timer or event), dispatch them, fire due timers, run tasks from other threads.
    public func runOnce(maximumWait: Int64) {
        var timeout = maximumWait
        if let deadline = timers.earliestDeadline {
            let untilTimer = Swift.max(0, clock.now().nanoseconds(to: deadline))
            timeout = timeout < 0 ? untilTimer : Swift.min(timeout, untilTimer)
        }
        let n = volley_epoll_wait(epollFD, events, Int32(Self.maxEvents), timeout)
        if n > 0 {
            for i in 0..<Int(n) {
                let event = events[i]
                if event.data == Self.wakeToken {
                    _ = volley_eventfd_drain(wakeFD)
                    runInbox()
                    continue
                }
                let fd = Int(UInt32(truncatingIfNeeded: event.data))
                let generation = UInt32(truncatingIfNeeded: event.data >> 32)
                guard fd < slots.count, slots[fd].generation == generation, let handler = slots[fd].handler else { continue }
                handler.handleEvents(IOEvents(rawValue: event.events))
            }
        }
        fireDueTimers()
    }

    private func fireDueTimers() {
        guard timers.count > 0 else { return }
        let now = clock.now()
        while let (target, token) = timers.popDue(now: now) {
            target.timerFired(token: token, now: now)
        }
    }

    private func runInbox() {
        inbox.withLock { swap(&$0, &runningTasks) }
        var i = 0
        while i < runningTasks.count {
            runningTasks[i].body()
            i += 1
        }
        runningTasks.removeAll(keepingCapacity: true)
    }
}

/// Adapts a closure to `TimerTarget`.
final class ClosureTimer: TimerTarget {
    let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }
    func timerFired(token: UInt64, now: Instant) { body() }
}

/// Carries a value that is not `Sendable` to a closure that runs on the one thread allowed to use
/// it (typically an object confined to an event loop, handed to `execute` on that same loop).
public struct LoopBound<Value>: @unchecked Sendable {
    public let value: Value
    public init(_ value: Value) { self.value = value }
}
