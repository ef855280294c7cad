import Net
import Scenario
import WebSocket
#if canImport(Glibc)
import Glibc
#endif

/// One simulated client: runs the compiled script step by step on its loop's thread, driven by
/// its connection's events, timers, and barrier releases.
final class VirtualUser: WebSocketDelegate, TimerTarget {
    enum State: UInt8 {
        case idle, connecting, running, sleeping, pacing, expecting, expectingNone, atBarrier, closing, reconnecting, yielded, ended
    }

    unowned(unsafe) let driver: LoopDriver
    /// Global number (unique across agents), used by {{vu}} and the feeder.
    let number: Int64
    /// Position in the driver's list of active users.
    var position = 0
    private(set) var state = State.idle
    private(set) var connection: WebSocketConnection?
    private var pc = 0
    private var seq: Int64 = 0
    private var timerGeneration: UInt64 = 0
    /// Monotonic nanoseconds: when the current connect started, the origin of the last send's
    /// latency (its scheduled instant in the open model), the next paced send slot, and the
    /// deadline of the current wait.
    private var connectStarted: Int64 = 0
    private var lastSendOrigin: Int64 = 0
    private var nextSendAt: Int64 = 0
    private(set) var waitDeadline: Int64 = 0
    /// State most users of most scenarios never need, allocated on first use so an idle user
    /// stays small.
    private var extras: Extras?
    private(set) var stopRequested = false
    /// True once the user reached the end of its steps (as opposed to being stopped or failing).
    private(set) var completedScript = false

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

        init(loopSlots: Int) { loopCounters = [Int64](repeating: 0, count: loopSlots) }
    }

    static let inboxLimit = 8

    struct InboxEntry {
        let bytes: [UInt8]
        let binary: Bool
        let arrived: Int64
    }

    @inline(__always)
    private var more: Extras {
        if let extras { return extras }
        let created = Extras(loopSlots: driver.program.loopSlots)
        extras = created
        return created
    }

    init(driver: LoopDriver, number: Int64) {
        self.driver = driver
        self.number = number
    }

    // MARK: Lifecycle

    func start() {
        state = .running
        advance()
    }

    /// Asks the user to stop: closes its connection gracefully, then it ends.
    func stop() {
        guard state != .ended else { return }
        stopRequested = true
        switch state {
        case .connecting:
            connection?.abort()
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

    private func end(failed: Bool) {
        guard state != .ended else { return }
        let previous = state
        state = .ended
        timerGeneration &+= 1
        if let connection, connection.phase != .closed { connection.abort() }
        connection = nil
        flushDelivery()
        driver.userEnded(self, failed: failed, previous: previous)
    }

    // MARK: The script

    private var now: Int64 { driver.clock.now().nanoseconds }

    /// Runs instructions until one has to wait. `time` is the current instant if the caller
    /// has just read it (one clock read per event is enough: the steps take microseconds).
    private func advance(at time: Int64? = nil) {
        let t = time ?? now
        var budget = 64
        while budget > 0 {
            budget -= 1
            if stopRequested {
                stop()
                return
            }
            switch driver.program.code[pc] {
            case let .connect(url):
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
            case let .sleep(duration):
                pc += 1
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
                    if !driver.isOpenModel, let think = driver.thinkTime(), think > 0 {
                        state = .sleeping
                        waitDeadline = 0
                        schedule(at: t + think)
                        return
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
                connection.close(code: CloseCode.normal, reason: "")
                return
            case .reconnect:
                if let connection, connection.phase == .open {
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

    private func schedule(at deadline: Int64) {
        timerGeneration &+= 1
        driver.loop.schedule(at: Instant(nanoseconds: deadline), target: self, token: timerGeneration)
    }

    func timerFired(token: UInt64, now instant: Instant) {
        guard token == timerGeneration else { return }
        switch state {
        case .sleeping, .yielded:
            state = .running
            advance()
        case .pacing:
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

    // MARK: Connecting

    private func connect(_ url: Template?) {
        state = .connecting
        connectStarted = now
        driver.metrics.add(.connectAttempts)
        do {
            connection = try driver.connect(user: self, url: url)
        } catch {
            driver.metrics.add(.errorConnect)
            driver.metrics.add(named: "errors.connect.\(error.codeName)")
            end(failed: true)
        }
    }

    func webSocketDidOpen(_ connection: WebSocketConnection) {
        driver.metrics.add(.connectionsOpened)
        driver.metrics.opened()
        let t = now
        driver.metrics.connect.record((t - connectStarted) / 1000)
        driver.metrics.openedSinceStart += 1
        if driver.metrics.openedSinceStart % 1000 == 0 { driver.metrics.openMilestones.append(t - driver.runStart) }
        driver.userConnected(self)
        state = .running
        pc += 1
        advance()
    }

    func webSocket(_ connection: WebSocketConnection, didCloseWith outcome: CloseOutcome) {
        let wasOpen: Bool
        switch outcome {
        case .closed, .protocolViolation, .connectionLost: wasOpen = true
        case .timedOut(let phase): wasOpen = phase == "close"
        case .aborted: wasOpen = state != .connecting
        default: wasOpen = false
        }
        if wasOpen {
            driver.metrics.connectionsOpen -= 1
            driver.metrics.add(.connectionsClosed)
        }
        self.connection = nil
        if state == .ended { return }
        if state == .closing || state == .reconnecting {
            if case let .protocolViolation(v) = outcome { count(.protocolViolation(v)) }
            if stopRequested {
                end(failed: false)
            } else if state == .reconnecting {
                connect(nil)
            } else {
                state = .running
                pc += 1
                advance()
            }
            return
        }
        if stopRequested && state == .connecting {
            end(failed: false)
            return
        }
        count(outcome)
        end(failed: true)
    }

    /// Counts an unexpected end of the connection by class.
    private func count(_ outcome: CloseOutcome) {
        let m = driver.metrics
        switch outcome {
        case let .connectFailed(e):
            switch e.code {
            case ECONNREFUSED: m.add(.errorRefused)
            case ETIMEDOUT: m.add(.errorConnectTimeout)
            default:
                m.add(.errorConnect)
                m.add(named: "errors.connect.\(e.codeName)")
            }
        case let .handshakeFailed(.unexpectedStatus(status, _, _)):
            m.add(.errorHandshakeStatus)
            m.add(named: "errors.handshake_status.\(status)")
        case .handshakeFailed:
            m.add(.errorHandshake)
        case .timedOut(let phase):
            if phase == "close" { m.add(.errorConnectionLost) } else { m.add(.errorConnectTimeout) }
        case let .protocolViolation(v):
            m.add(.errorProtocolViolation)
            m.add(named: "errors.protocol_violation.\(v.rawValue)")
        case .closed:
            m.add(.errorClosedByServer)
        case .connectionLost:
            m.add(.errorConnectionLost)
        case .answeredWithHTTP, .aborted:
            break
        }
    }

    // MARK: Sending

    /// Sends the next message, or waits for its slot (returns false when it has to wait).
    private func send(_ payload: Template, binary: Bool, at t: Int64) -> Bool {
        var origin = t
        if let interval = driver.sendInterval() {
            if nextSendAt == 0 {
                // Spread users over the interval so they do not all send at once.
                nextSendAt = t + Int64(driver.context.nextRandom() % UInt64(Swift.max(1, interval)))
            }
            if driver.isOpenModel {
                if t < nextSendAt {
                    state = .pacing
                    schedule(at: nextSendAt)
                    return false
                }
                origin = nextSendAt           // latency counts from the schedule, not from now
                nextSendAt += interval
            } else {
                if t < nextSendAt {
                    state = .pacing
                    schedule(at: nextSendAt)
                    return false
                }
                // Closed model: the rate is a ceiling; a late send does not earn a burst to catch up.
                nextSendAt = Swift.max(nextSendAt, t - interval) + interval
            }
        }
        guard let connection, connection.phase == .open else {
            driver.metrics.add(.errorSendFailed)
            return true
        }
        seq += 1
        let bytes = driver.render(payload, for: self, seq: seq)
        let sent = bytes.withUnsafeBytes { connection.send(binary ? .binary : .text, $0) }
        if sent {
            driver.metrics.add(.messagesSent)
            driver.metrics.add(.bytesSent, Int64(bytes.count))
            lastSendOrigin = origin
        } else {
            driver.metrics.add(.errorSendFailed)
        }
        return true
    }

    /// Iteration number of the innermost loop around the current step (1-based; 0 outside loops).
    var iteration: Int64 {
        guard let slot = driver.program.enclosingSlot[pc], let extras else { return 0 }
        return extras.loopCounters[slot] + 1
    }

    // MARK: Receiving

    func webSocket(_ connection: WebSocketConnection, didReceive payload: UnsafeRawBufferPointer, opcode: Opcode) {
        let m = driver.metrics
        m.add(.messagesReceived)
        m.add(.bytesReceived, Int64(payload.count))
        let t = now
        if driver.tracksDelivery { track(payload, t) }
        let binary = opcode == .binary
        var matched = false
        if let extras, !extras.pending.isEmpty {
            for i in 0..<extras.pending.count {
                let entry = extras.pending[i]
                guard case let .expect(unmanaged) = driver.program.code[entry.pc] else { continue }
                let instruction = unmanaged.takeUnretainedValue()
                if driver.matches(instruction.step.matcher, payload, binary: binary, user: self, seq: entry.seq) {
                    record(instruction.step, instruction.measure, payload, origin: entry.origin, now: t)
                    extras.pending.remove(at: i)
                    matched = true
                    break
                }
            }
        }
        switch state {
        case .expecting:
            guard case let .expect(unmanaged) = driver.program.code[pc] else { return }
            let instruction = unmanaged.takeUnretainedValue()
            if instruction.matchesAnything || driver.matches(instruction.step.matcher, payload, binary: binary, user: self, seq: seq) {
                if let measure = instruction.measure {
                    if instruction.latencyFromLastSend {
                        driver.metrics.measures[measure].record((t - lastSendOrigin) / 1000)
                    } else {
                        record(instruction.step, measure, payload, origin: lastSendOrigin, now: t)
                    }
                }
                state = .running
                pc += 1
                advance(at: t)
            } else if instruction.strict && !matched {
                m.add(.errorExpectMismatch)
                state = .running
                pc += 1
                advance()
            } else if !matched {
                keep(payload, binary: binary, at: t)
            }
        case .expectingNone:
            guard case let .expectNone(step) = driver.program.code[pc] else { return }
            if driver.matches(step.matcher, payload, binary: binary, user: self, seq: seq) {
                m.add(.errorIsolation)
            } else if !matched {
                m.add(.messagesUnmatched)
            }
        default:
            if !matched { keep(payload, binary: binary, at: t) }
        }
    }

    /// Keeps a message no step was waiting for, for a later `expect` (or counts it as unmatched).
    private func keep(_ payload: UnsafeRawBufferPointer, binary: Bool, at t: Int64) {
        driver.metrics.add(.messagesUnmatched)
        guard driver.program.hasExpect else { return }
        let extras = more
        if extras.inbox.count == Self.inboxLimit { extras.inbox.removeFirst() }
        extras.inbox.append(InboxEntry(bytes: Array(payload), binary: binary, arrived: t))
    }

    enum InboxOutcome { case matched, mismatched, waiting }

    /// Looks for the expected message among those that arrived before the step began.
    private func consumeInbox(_ step: ExpectStep) -> InboxOutcome {
        guard let extras, !extras.inbox.isEmpty else { return .waiting }
        let t = now
        extras.inbox.removeAll { t - $0.arrived > step.within }   // too old to be the answer
        for (i, entry) in extras.inbox.enumerated() {
            let hit = entry.bytes.withUnsafeBytes { driver.matches(step.matcher, $0, binary: entry.binary, user: self, seq: seq) }
            if hit {
                if case let .expect(unmanaged) = driver.program.code[pc] {
                    let instruction = unmanaged.takeUnretainedValue()
                    entry.bytes.withUnsafeBytes { record(step, instruction.measure, $0, origin: Swift.min(lastSendOrigin, entry.arrived), now: entry.arrived) }
                }
                extras.inbox.remove(at: i)
                driver.metrics.add(.messagesUnmatched, -1)
                return .matched
            }
            if step.strict {
                extras.inbox.remove(at: i)
                driver.metrics.add(.errorExpectMismatch)
                return .mismatched
            }
        }
        return .waiting
    }

    private func record(_ step: ExpectStep, _ measure: Int?, _ payload: UnsafeRawBufferPointer, origin: Int64, now t: Int64) {
        guard let measure else { return }
        let recorder = driver.metrics.measures[measure]
        switch step.latencyFrom {
        case .lastSend:
            recorder.record((t - origin) / 1000)
        case let .field(name):
            if let sent = driver.integerField(name, in: payload) {
                recorder.record(driver.wallMicros() - sent)
            }
        }
    }

    // MARK: Delivery tracking

    private func track(_ payload: UnsafeRawBufferPointer, _ t: Int64) {
        guard let (sender, sequence) = driver.deliveryKey(payload) else { return }
        driver.metrics.add(.deliveryReceived)
        let extras = more
        if driver.tracksOrder {
            for v in [sender, UInt64(bitPattern: sequence)] { extras.orderHash = (extras.orderHash ^ v) &* 0x100_0000_01b3 }
            extras.orderedMessages += 1
        }
        switch extras.delivery[sender, default: SequenceTracker()].record(sequence) {
        case .new: break
        case .outOfOrder: driver.metrics.add(.deliveryOutOfOrder)
        case .duplicate: driver.metrics.add(.deliveryDuplicated)
        case .invalid: break
        }
        if let recorder = driver.deliveryLatency, let field = driver.sentAtField, let sent = driver.integerField(field, in: payload) {
            recorder.record(driver.wallMicros() - sent)
        }
    }

    /// Counts the gaps in every sender's sequence (messages never received) once the user ends.
    private func flushDelivery() {
        guard let extras else { return }
        if driver.tracksOrder && extras.orderedMessages > 0 {
            driver.countOrderFingerprint(extras.orderHash)
            extras.orderedMessages = 0
        }
        var missing: Int64 = 0
        for tracker in extras.delivery.values { missing += tracker.missing }
        if missing > 0 { driver.metrics.add(.deliveryMissing, missing) }
        extras.delivery.removeAll()
    }

    // MARK: Barriers

    /// The barrier this user waits at will release at wall time `wallMicros`: if the next step
    /// is an unpaced send, build its frame now, so the release costs one write.
    func prepareForRelease(wallMicros: Int64) {
        guard state == .atBarrier, let connection, connection.phase == .open, pc + 1 < driver.program.code.count,
              case let .send(unmanaged) = driver.program.code[pc + 1], driver.sendInterval() == nil else { return }
        let extras = more
        unmanaged._withUnsafeGuaranteedRef { step in
            let bytes = driver.render(step.payload, for: self, seq: seq + 1, nowMicros: wallMicros)
            extras.preparedLength = bytes.count
            extras.preparedFrame = bytes.withUnsafeBytes { connection.prepareFrame(step.binary ? .binary : .text, $0) }
        }
    }

    /// The barrier this user waits at has released (at `instant`, on this loop's clock).
    /// Returns when its prepared send went out, if it had one.
    @discardableResult
    func released(at instant: Int64, timedOut: Bool) -> Int64? {
        guard state == .atBarrier else { return nil }
        if timedOut { driver.metrics.add(.errorBarrierTimeout) }
        state = .running
        pc += 1
        var sentAt: Int64?
        if let extras, let frame = extras.preparedFrame {
            extras.preparedFrame = nil
            seq += 1
            if let connection, connection.sendPrepared(frame) {
                let t = now
                sentAt = t
                driver.metrics.add(.messagesSent)
                driver.metrics.add(.bytesSent, Int64(extras.preparedLength))
                driver.metrics.barrierSend.record(Swift.max(0, (t - instant) / 1000))
                lastSendOrigin = instant
            } else {
                driver.metrics.add(.errorSendFailed)
            }
            pc += 1
        }
        advance()
        return sentAt
    }
}
