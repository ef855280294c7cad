import Net
import Scenario
import Stats
import WebSocket

/// One simulated client: runs the compiled script step by step on its loop's thread, driven by
/// its connection's events, timers and barrier releases. This file holds its state and the
/// interpreter; connecting, messages, delivery tracking and barriers are in the extensions.
final class VirtualUser: WebSocketDelegate, TimerTarget {
    enum State: UInt8 {
        case idle, connecting, running, sleeping, pacing, expecting, expectingNone, atBarrier, closing, reconnecting, yielded, ended
        /// A ping is out; waiting for its pong.
        case awaitingPong
        /// The run is draining: connected, receiving, starting nothing new.
        case parked
        /// Waiting for one of the loop's connect slots (`max_connecting` handshakes in flight).
        case queuedToConnect
    }

    unowned(unsafe) let driver: LoopDriver
    /// Global number (unique across agents), used by {{vu}} and the feeder.
    let number: Int64
    /// Position in the driver's list of active users, and in its group's.
    var position = 0
    // The small fields together, so an idle user stays small (an object's fields are laid out
    // in declaration order).
    /// The user's group (index into the scenario's groups).
    var group: Int32 = 0
    var groupPosition: Int32 = 0
    var state = State.idle
    var stopRequested = false
    /// The run is over and draining: finish the expect in progress, start nothing new.
    var draining = false
    /// True once the user reached the end of its steps (as opposed to being stopped or failing).
    var completedScript = false
    /// The script closed this user's connection (`close`, `reconnect`) and it has not opened
    /// the next one yet: the loop does not owe that connection meanwhile.
    var offlineByScript = false
    var connection: WebSocketConnection?
    /// The TLS session of the user's last wss:// connection, resumed on the next.
    var tlsSession: TLSSession?
    var pc = 0
    var seq: Int64 = 0
    var timerGeneration: UInt64 = 0
    /// This user's random state (xorshift64*), seeded from the run's seed and the user's number:
    /// its random choices are the same in every run with that seed, whatever the scheduling.
    var randomState: UInt64
    /// Monotonic nanoseconds: when the current connect started, the origin of the last send's
    /// latency (its scheduled instant in the open model), the next paced send slot, and the
    /// deadline of the current wait.
    var connectStarted: Int64 = 0
    var lastSendOrigin: Int64 = 0
    var nextSendAt: Int64 = 0
    var waitDeadline: Int64 = 0
    /// State most users of most scenarios never need, allocated on first use so an idle user
    /// stays small.
    var extras: Extras?

    struct PendingExpectation {
        let pc: Int
        let seq: Int64
        let origin: Int64
        let deadline: Int64
    }

    final class Extras {
        var loopCounters: [Int64]
        var barrierGenerations: [Int32] = []
        /// Open-model expectations in flight: sent messages whose replies are awaited without blocking.
        var pending: [PendingExpectation] = []
        /// Messages that arrived when no step was waiting for them, newest last (at most
        /// `inboxLimit`): an `expect` looks here first, so a reply that beats its step is not lost.
        var inbox: [InboxEntry] = []
        /// Per-sender sequence tracking of received messages (only with delivery tracking).
        var delivery: [UInt64: SequenceTracker] = [:]
        /// The frame of the send right after a barrier, built before the release instant.
        var preparedFrame: [UInt8]?
        var preparedLength = 0
        /// FNV-1a over (sender, sequence) in arrival order, when the scenario fingerprints order.
        var orderHash: UInt64 = 0xcbf2_9ce4_8422_2325
        var orderedMessages = 0
        /// Delivery tracking: the user's group (in its loop's ledger), its connected windows
        /// (coordinator wall ns), the tracked messages it sent, and the prepared send's key.
        var deliveryGroup: Int32 = -1
        var windowOpened: Int64?
        var windows: [(open: Int64, close: Int64, atRunEnd: Bool)] = []
        var sentTally: SenderSummary?
        var preparedKey: (sender: UInt64, sequence: Int64)?
        /// The user's captured variables, by slot ("" until captured).
        var variables: [String]
        /// The connect in progress expects the server to refuse the upgrade.
        var expectedRefusal: ExpectedRefusal?

        init(loopSlots: Int, variables: Int) {
            loopCounters = [Int64](repeating: 0, count: loopSlots)
            self.variables = [String](repeating: "", count: variables)
        }
    }

    static let inboxLimit = 8

    struct InboxEntry {
        let bytes: [UInt8]
        let binary: Bool
        let arrived: Int64
    }

    @inline(__always)
    var more: Extras {
        if let extras { return extras }
        let created = Extras(loopSlots: driver.program.loopSlots, variables: driver.scenario.variables.count)
        extras = created
        return created
    }

    /// The user's number within its group (unique across agents; its row of the group's
    /// feeder): the driver numbers users `inGroup × groups + group`.
    func numberInGroup(groups: Int) -> Int64 { number / Int64(groups) }

    init(driver: LoopDriver, number: Int64, seed: UInt64) {
        self.driver = driver
        self.number = number
        randomState = SeedMixer.state(seed: seed, stream: UInt64(bitPattern: number))
    }

    /// The next number of this user's random sequence.
    func nextRandom() -> UInt64 {
        randomState ^= randomState >> 12
        randomState ^= randomState << 25
        randomState ^= randomState >> 27
        return randomState &* 0x2545_F491_4F6C_DD1D
    }

    // MARK: Lifecycle

    func start() {
        state = .running
        pc = driver.program.entries[Int(group)]
        advance()
    }

    /// The run's last phase is over: keep the connection and let replies in flight arrive, but
    /// start nothing new (no send, sleep, barrier or connect).
    func drain() {
        guard state != .ended, !draining else { return }
        draining = true
        switch state {
        case .connecting, .queuedToConnect:
            stop()
        case .expecting, .closing, .reconnecting, .ended:
            break
        default:
            state = .parked
        }
    }

    /// True while a reply is awaited: an expect in progress, or open-model expectations in flight.
    var awaitsReply: Bool { state == .expecting || !(extras?.pending.isEmpty ?? true) }

    /// Asks the user to stop: closes its connection gracefully, then it ends. Replies it still
    /// awaited are counted as unanswered.
    func stop() {
        guard state != .ended else { return }
        if driver.tracksDelivery { endDeliveryWindow() }
        if !stopRequested {
            var unanswered: Int64 = state == .expecting ? 1 : 0
            if let extras, !extras.pending.isEmpty {
                unanswered += Int64(extras.pending.count)
                extras.pending.removeAll()
            }
            if unanswered > 0 { driver.metrics.add(.expectUnanswered, unanswered) }
        }
        stopRequested = true
        switch state {
        case .connecting:
            connection?.abort()
        case .queuedToConnect:
            end(failed: false)
        case .closing, .reconnecting:
            break
        default:
            if let connection, connection.phase == .open {
                state = .closing
                connection.close(code: CloseCode.normal, reason: "load test user stopped")
            } else {
                end(failed: false)
            }
        }
    }

    func end(failed: Bool) {
        guard state != .ended else { return }
        let previous = state
        state = .ended
        timerGeneration &+= 1
        comeBackOnline()
        if let connection, connection.phase != .closed { connection.abort() }
        connection = nil
        if driver.tracksDelivery { endDeliveryWindow() }
        flushDelivery()
        driver.userEnded(self, failed: failed, previous: previous)
    }

    // MARK: The script

    var now: Int64 { driver.clock.now().nanoseconds }

    /// Runs instructions until one has to wait. `time` is the current instant if the caller
    /// has just read it (one clock read per event is enough: the steps take microseconds).
    func advance(at time: Int64? = nil) {
        let t = time ?? now
        var budget = 64
        while budget > 0 {
            budget -= 1
            if stopRequested {
                stop()
                return
            }
            if draining {
                state = .parked
                return
            }
            switch driver.program.code[pc] {
            case let .connect(url, refusal):
                if let refusal { more.expectedRefusal = refusal }
                connect(url)
                return
            case let .send(unmanaged):
                let sent = unmanaged._withUnsafeGuaranteedRef { send($0.payload, binary: $0.binary, at: t) }
                if !sent { return }
                pc += 1
            case let .expect(unmanaged):
                let instruction = unmanaged.takeUnretainedValue()
                if instruction.pacedAfterSend && driver.isOpenModel {
                    more.pending.append(PendingExpectation(pc: pc, seq: seq, origin: lastSendOrigin, deadline: t + instruction.within))
                    pc += 1
                } else {
                    if extras == nil || consumeInbox(instruction.step) == .waiting {
                        state = .expecting
                        waitDeadline = t + instruction.within
                        return
                    }
                    pc += 1
                }
            case let .expectNone(step):
                state = .expectingNone
                waitDeadline = t + step.duration
                schedule(at: waitDeadline)
                return
            case let .ping(within, _):
                guard let connection, connection.phase == .open else {
                    driver.metrics.add(.errorSendFailed)
                    pc += 1
                    continue
                }
                var stamp = t
                let sent = withUnsafeBytes(of: &stamp) { connection.send(.ping, $0) }
                guard sent else {
                    driver.metrics.add(.errorSendFailed)
                    pc += 1
                    continue
                }
                driver.metrics.add(.pingsSent)
                lastSendOrigin = t
                waitDeadline = t + within
                state = .awaitingPong
                return
            case let .sleep(delay):
                pc += 1
                let duration = delay.sample(nextRandom())
                if duration >= Self.sweptSleep {
                    // Long sleeps end on the driver's sweep (within 50 ms): no timer per user.
                    state = .sleeping
                    waitDeadline = t + duration
                    return
                }
                if duration > 0 {
                    state = .sleeping
                    waitDeadline = 0
                    schedule(at: t + duration)
                    return
                }
            case let .barrier(id, _):
                let extras = more
                if extras.barrierGenerations.isEmpty { extras.barrierGenerations = [Int32](repeating: 0, count: driver.scenario.barrierNames.count) }
                let generation = extras.barrierGenerations[id]
                extras.barrierGenerations[id] += 1
                state = .atBarrier
                driver.arrive(self, barrier: id, generation: Int(generation))
                return
            case let .loopStart(slot):
                more.loopCounters[slot] = 0
                pc += 1
            case let .loopEnd(slot, count, bodyStart):
                more.loopCounters[slot] += 1
                driver.metrics.add(.iterations)
                if count == nil || more.loopCounters[slot] < Int64(count!) {
                    pc = bodyStart
                    if !driver.isOpenModel, let delay = driver.thinkTime(for: self) {
                        let think = delay.sample(nextRandom())
                        if think > 0 {
                            state = .sleeping
                            waitDeadline = 0
                            schedule(at: t + think)
                            return
                        }
                    }
                } else {
                    pc += 1
                }
            case .close:
                guard let connection, connection.phase == .open else {
                    pc += 1
                    continue
                }
                state = .closing
                goOfflineByScript()
                if driver.tracksDelivery { endDeliveryWindow() }
                connection.close(code: CloseCode.normal, reason: "")
                return
            case .reconnect:
                goOfflineByScript()
                if let connection, connection.phase == .open {
                    if driver.tracksDelivery { endDeliveryWindow() }
                    state = .reconnecting
                    connection.close(code: CloseCode.normal, reason: "reconnecting")
                    return
                }
                connect(nil)
                return
            case .end:
                completedScript = true
                if let connection, connection.phase == .open {
                    // The script is over: close the connection properly, then end.
                    stopRequested = true
                    state = .closing
                    connection.close(code: CloseCode.normal, reason: "script finished")
                } else {
                    end(failed: false)
                }
                return
            }
        }
        // A long run of instructions that never waits: let the loop serve other users first.
        state = .yielded
        schedule(at: t)
    }

    func schedule(at deadline: Int64) {
        timerGeneration &+= 1
        driver.loop.schedule(at: Instant(nanoseconds: deadline), target: self, token: timerGeneration)
    }

    func timerFired(token: UInt64, now instant: Instant) {
        guard token == timerGeneration else { return }
        switch state {
        case .pacing:
            // How late the loop got to a scheduled send: the generator's own lag.
            driver.metrics.generatorLag.record(Swift.max(0, instant.nanoseconds - nextSendAt) / 1000)
            state = .running
            advance()
        case .sleeping, .yielded:
            state = .running
            advance()
        case .expectingNone:
            state = .running
            pc += 1
            advance()
        default:
            break
        }
    }

    /// Sleeps at least this long end on the driver's sweep rather than on a timer of their own.
    static let sweptSleep = Nanoseconds.seconds(2)

    /// Called by the driver's periodic sweep: fails expectations and connects whose time is up,
    /// and ends long sleeps.
    func checkDeadlines(now: Int64) {
        if let extras, !extras.pending.isEmpty {
            var kept = 0
            for i in 0..<extras.pending.count {
                if extras.pending[i].deadline <= now {
                    driver.metrics.add(.errorExpectTimeout)
                } else {
                    extras.pending[kept] = extras.pending[i]
                    kept += 1
                }
            }
            extras.pending.removeLast(extras.pending.count - kept)
        }
        switch state {
        case .awaitingPong where waitDeadline <= now:
            driver.metrics.add(.errorPongTimeout)
            state = .running
            pc += 1
            advance()
        case .expecting where waitDeadline <= now:
            driver.metrics.add(.errorExpectTimeout)
            state = .running
            pc += 1
            advance()
        case .sleeping where waitDeadline != 0 && waitDeadline <= now:
            waitDeadline = 0
            state = .running
            advance()
        case .connecting where now - connectStarted >= driver.scenario.options.connectTimeout:
            connection?.expireOpen()
        default:
            break
        }
    }

    /// Iteration number of the innermost loop around the current step (1-based; 0 outside loops).
    var iteration: Int64 {
        guard let slot = driver.program.enclosingSlot[pc], let extras else { return 0 }
        return extras.loopCounters[slot] + 1
    }
}

/// Seeds independent random streams from one run seed (SplitMix64's finalizer), so each user,
/// loop and agent draws its own reproducible sequence.
public enum SeedMixer {
    /// A non-zero xorshift state for stream `stream` of `seed`.
    public static func state(seed: UInt64, stream: UInt64) -> UInt64 {
        var z = seed &+ (stream &+ 1) &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return z | 1
    }
}
