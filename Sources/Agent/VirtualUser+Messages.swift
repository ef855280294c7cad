import Net
import Scenario
import WebSocket

/// Sending (paced on the schedule in the open model) and receiving: expectations in flight,
/// the inbox of early messages, and latency recording.
extension VirtualUser {
    /// Sends the next message, or waits for its slot (returns false when it has to wait).
    func send(_ payload: Template, binary: Bool, at t: Int64) -> Bool {
        var origin = t
        if let interval = driver.sendInterval(for: self) {
            if nextSendAt == 0 {
                // Spread users over the interval so they do not all send at once.
                nextSendAt = t + Int64(nextRandom() % UInt64(Swift.max(1, interval)))
            }
            if driver.isOpenModel {
                if t < nextSendAt {
                    state = .pacing
                    schedule(at: nextSendAt)
                    return false
                }
                origin = nextSendAt           // latency counts from the schedule, not from now
                nextSendAt += driver.poissonArrivals ? Delay.exponential(mean: interval).sample(nextRandom()) : interval
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
            if driver.tracksDelivery { bytes.withUnsafeBytes { noteSent($0) } }
        } else {
            driver.metrics.add(.errorSendFailed)
        }
        return true
    }

    /// The pong of the user's `ping` step: its round trip is recorded and the script goes on.
    /// (Pongs nobody waits for, such as replies to old pings, are ignored.)
    func webSocket(_ connection: WebSocketConnection, didReceivePong payload: UnsafeRawBufferPointer) {
        guard state == .awaitingPong, case let .ping(_, measure) = driver.program.code[pc] else { return }
        let t = now
        if let measure { driver.metrics.measures[measure].record((t - lastSendOrigin) / 1000) }
        state = .running
        pc += 1
        advance(at: t)
    }

    func webSocket(_ connection: WebSocketConnection, didReceive payload: UnsafeRawBufferPointer, opcode: Opcode) {
        let m = driver.metrics
        m.add(.messagesReceived)
        m.add(.bytesReceived, Int64(payload.count))
        let t = now
        if driver.tracksDelivery { track(payload, t) }
        let binary = opcode == .binary
        if driver.program.hasHandlers && handle(payload, binary: binary) { return }
        var matched = false
        if let extras, !extras.pending.isEmpty {
            for i in 0..<extras.pending.count {
                let entry = extras.pending[i]
                guard case let .expect(unmanaged) = driver.program.code[entry.pc] else { continue }
                let instruction = unmanaged.takeUnretainedValue()
                if driver.matches(instruction.step.matcher, payload, binary: binary, user: self, seq: entry.seq) {
                    record(instruction.step, instruction.measure, payload, origin: entry.origin, now: t)
                    if !instruction.captures.isEmpty { capture(instruction.captures, from: payload) }
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
                if !instruction.captures.isEmpty { capture(instruction.captures, from: payload) }
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

    /// Runs the first of the user's `on:` handlers that matches `payload`: the message is then
    /// the handler's (true), and the steps do not see it.
    func handle(_ payload: UnsafeRawBufferPointer, binary: Bool) -> Bool {
        let handlers = driver.program.handlers[Int(group)]
        for i in 0..<handlers.count {
            let h = handlers[i]
            guard driver.matches(h.matcher, payload, binary: binary, user: self, seq: seq) else { continue }
            let m = driver.metrics
            m.add(.handlersMatched)
            if let name = h.matchedCounter { m.add(named: name) }
            if !h.captures.isEmpty { capture(h.captures, from: payload) }
            if let measure = h.measure, let field = h.latencyField, let sent = driver.integerField(field, in: payload) {
                m.measures[measure].record(driver.wallMicros() - sent)
            }
            if let reply = h.reply {
                if let connection, connection.phase == .open {
                    let bytes = driver.render(reply, for: self, seq: seq)
                    if bytes.withUnsafeBytes({ connection.send(h.binary ? .binary : .text, $0) }) {
                        m.add(.handlersReplies)
                        m.add(.bytesSent, Int64(bytes.count))
                    } else {
                        m.add(.errorSendFailed)
                    }
                }
            }
            return true
        }
        return false
    }

    /// Keeps a message no step was waiting for, for a later `expect` (or counts it as unmatched).
    func keep(_ payload: UnsafeRawBufferPointer, binary: Bool, at t: Int64) {
        driver.metrics.add(.messagesUnmatched)
        guard driver.program.hasExpect else { return }
        let extras = more
        if extras.inbox.count == Self.inboxLimit { extras.inbox.removeFirst() }
        extras.inbox.append(InboxEntry(bytes: Array(payload), binary: binary, arrived: t))
    }

    enum InboxOutcome { case matched, mismatched, waiting }

    /// Looks for the expected message among those that arrived before the step began.
    func consumeInbox(_ step: ExpectStep) -> InboxOutcome {
        guard let extras, !extras.inbox.isEmpty else { return .waiting }
        let t = now
        extras.inbox.removeAll { t - $0.arrived > step.within }   // too old to be the answer
        for (i, entry) in extras.inbox.enumerated() {
            let hit = entry.bytes.withUnsafeBytes { driver.matches(step.matcher, $0, binary: entry.binary, user: self, seq: seq) }
            if hit {
                if case let .expect(unmanaged) = driver.program.code[pc] {
                    let instruction = unmanaged.takeUnretainedValue()
                    entry.bytes.withUnsafeBytes { record(step, instruction.measure, $0, origin: Swift.min(lastSendOrigin, entry.arrived), now: entry.arrived) }
                    if !instruction.captures.isEmpty { entry.bytes.withUnsafeBytes { capture(instruction.captures, from: $0) } }
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

    /// Sets the user's variables from the message an expect matched; a value not found is a
    /// counted error (`errors.capture`, and `errors.capture.NAME`) and leaves the variable as it was.
    func capture(_ captures: [Capture], from payload: UnsafeRawBufferPointer) {
        let extras = more
        for c in captures {
            if let value = c.value(in: payload) {
                extras.variables[c.slot] = value
            } else {
                driver.metrics.add(.errorCapture)
                driver.metrics.add(named: "errors.capture.\(c.variable)")
            }
        }
    }

    func record(_ step: ExpectStep, _ measure: Int?, _ payload: UnsafeRawBufferPointer, origin: Int64, now t: Int64) {
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
}
