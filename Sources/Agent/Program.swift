import Scenario

/// Every user group's steps compiled to one flat list of instructions, with loops as jumps, so a
/// user's position in its script is one integer; a group's script starts at its entry.
struct Program {
    /// A send step, compiled. A class so that reading the instruction costs one retain, not one
    /// per array inside the template.
    final class Send {
        let payload: Template
        let binary: Bool
        init(payload: Template, binary: Bool) {
            self.payload = payload
            self.binary = binary
        }
    }

    /// An expect step, compiled (a class for the same reason as `Send`).
    final class Expect {
        let step: ExpectStep
        /// Right after a send: in the open model it does not block.
        let pacedAfterSend: Bool
        /// Index of the step's metric in `measureNames`.
        let measure: Int?
        /// Copies of the step's fields the per-message path reads (no struct copies there).
        let within: Int64
        let strict: Bool
        let matchesAnything: Bool
        let latencyFromLastSend: Bool
        /// What the matched message sets in the user's variables.
        let captures: [Capture]
        init(step: ExpectStep, pacedAfterSend: Bool, measure: Int?) {
            self.step = step
            self.pacedAfterSend = pacedAfterSend
            self.measure = measure
            within = step.within
            strict = step.strict
            matchesAnything = step.matcher.conditions.isEmpty
            latencyFromLastSend = step.latencyFrom == .lastSend
            captures = step.captures
        }
    }

    /// An `on:` handler, compiled.
    final class Handler {
        let matcher: MessageMatcher
        let reply: Template?
        let binary: Bool
        let captures: [Capture]
        /// Index of its metric in `measureNames`, and the timestamp field it measures from.
        let measure: Int?
        let latencyField: String?
        /// `handlers.NAME.matched`, built once.
        let matchedCounter: String?
        init(_ h: MessageHandler, measure: Int?) {
            matcher = h.matcher
            reply = h.reply
            binary = h.binary
            captures = h.captures
            self.measure = measure
            latencyField = h.latencyField
            matchedCounter = h.name.map { "handlers.\($0).matched" }
        }
    }

    enum Instruction {
        case connect(url: Template?, refusal: ExpectedRefusal?)
        /// Unmanaged: reading an instruction must not retain (the program keeps them alive).
        case send(Unmanaged<Send>)
        case expect(Unmanaged<Expect>)
        case expectNone(ExpectNoneStep)
        case sleep(Delay)
        case barrier(id: Int, BarrierStep)
        /// Entering a loop: reset its counter (slot) and go on.
        case loopStart(slot: Int)
        /// End of a loop body: count the iteration; jump to `bodyStart` while more remain.
        case loopEnd(slot: Int, count: Int?, bodyStart: Int)
        case close
        case reconnect
        /// Ping, and wait for the pong (its round trip into recorder `measure`).
        case ping(within: Int64, measure: Int?)
        case end
    }

    let instructions: [Instruction]
    /// Owners of the unmanaged send/expect payloads.
    private let sends: [Send]
    private let expects: [Expect]
    /// The same instructions through a stable pointer, so the per-message path reads an element
    /// without retaining the array (the program lives as long as the run).
    let code: UnsafeBufferPointer<Instruction>
    /// Number of loop counters a user needs.
    let loopSlots: Int
    /// Line of the step each instruction came from (for error messages).
    let lines: [Int]
    /// The loop slot enclosing each instruction ({{iteration}} reads its counter), if any.
    let enclosingSlot: [Int?]
    /// Every latency metric, in recorder order (per group when the scenario keeps them apart).
    let measureNames: [String]
    /// Where each group's script starts.
    let entries: [Int]
    /// Per group, its `on:` handlers (the scenario's, then the group's).
    let handlers: [[Handler]]
    let hasHandlers: Bool
    /// True when some step waits for a message (so early messages are worth keeping).
    let hasExpect: Bool

    init(_ scenario: Scenario) {
        var instructions: [Instruction] = []
        var lines: [Int] = []
        var slots = 0
        var sends: [Send] = []
        var expects: [Expect] = []
        var enclosing: [Int?] = []
        var openLoops: [Int] = []
        let barriers = scenario.barrierNames
        let measures = scenario.recordedMeasureNames
        var group = ""
        /// The recorder of `metric` for the group being compiled.
        func measureIndex(_ metric: String) -> Int? {
            measures.firstIndex(of: scenario.recordsPerGroup ? Scenario.groupMetric(metric, group: group) : metric)
        }
        func add(_ instruction: Instruction, _ line: Int) {
            instructions.append(instruction)
            lines.append(line)
            enclosing.append(openLoops.last)
        }
        func emit(_ steps: [Step]) {
            var previousWasSend = false
            for step in steps {
                switch step.kind {
                case let .connect(c): add(.connect(url: c.url, refusal: c.refusal), step.line)
                case let .send(s):
                    let send = Send(payload: s.payload, binary: s.binary)
                    sends.append(send)
                    add(.send(Unmanaged.passUnretained(send)), step.line)
                case let .expect(e):
                    let expect = Expect(step: e, pacedAfterSend: previousWasSend && e.latencyFrom == .lastSend,
                                        measure: e.measure.flatMap(measureIndex))
                    expects.append(expect)
                    add(.expect(Unmanaged.passUnretained(expect)), step.line)
                case let .expectNone(e): add(.expectNone(e), step.line)
                case let .sleep(d): add(.sleep(d), step.line)
                case let .barrier(b): add(.barrier(id: barriers.firstIndex(of: b.name)!, b), step.line)
                case let .loop(l):
                    let slot = slots
                    slots += 1
                    add(.loopStart(slot: slot), step.line)
                    let bodyStart = instructions.count
                    openLoops.append(slot)
                    emit(l.steps)
                    add(.loopEnd(slot: slot, count: l.count, bodyStart: bodyStart), step.line)
                    openLoops.removeLast()
                case .close: add(.close, step.line)
                case .reconnect: add(.reconnect, step.line)
                case let .ping(p): add(.ping(within: p.within, measure: measureIndex(p.measure)), step.line)
                }
                // An expect right after a send (possibly after other expects) measures from it.
                switch step.kind {
                case .send: previousWasSend = true
                case .expect: break
                default: previousWasSend = false
                }
            }
        }
        var entries: [Int] = []
        var handlers: [[Handler]] = []
        for g in scenario.groups {
            group = g.name
            entries.append(instructions.count)
            emit(g.steps)
            add(.end, 0)
            handlers.append(scenario.handlers(of: g).map { Handler($0, measure: $0.measure.flatMap(measureIndex)) })
        }
        self.entries = entries
        self.handlers = handlers
        hasHandlers = handlers.contains { !$0.isEmpty }
        self.instructions = instructions
        self.sends = sends
        self.expects = expects
        let storage = UnsafeMutableBufferPointer<Instruction>.allocate(capacity: instructions.count)
        _ = storage.initialize(from: instructions)
        self.code = UnsafeBufferPointer(storage)
        self.loopSlots = slots
        self.lines = lines
        self.enclosingSlot = enclosing
        self.measureNames = measures
        self.hasExpect = instructions.contains { if case .expect = $0 { return true } else { return false } }
    }
}
