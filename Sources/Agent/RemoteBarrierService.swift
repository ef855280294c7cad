import Net
import Synchronization
import WireProtocol

/// A cluster run's barrier service on an agent: arrivals from the engine's loops are counted
/// per (barrier, generation) and sent to the coordinator in batches; the coordinator decides
/// when every agent releases.
final class RemoteBarrierService: BarrierService {
    private struct Key: Hashable {
        let barrier: Int
        let generation: Int
    }

    private let pending = Mutex<(counts: [Key: Int], flushScheduled: Bool)>(([:], false))
    /// Runs on the control loop: sends one arrival message per (barrier, generation).
    private let send: @Sendable (_ barrier: Int, _ generation: Int, _ count: Int) -> Void
    /// Runs on the control loop: sends a loop's release report.
    private let report: @Sendable (BarrierRelease) -> Void
    private let controlLoop: EventLoop

    init(controlLoop: EventLoop, send: @escaping @Sendable (Int, Int, Int) -> Void,
         report: @escaping @Sendable (BarrierRelease) -> Void) {
        self.controlLoop = controlLoop
        self.send = send
        self.report = report
    }

    func attach(to engine: LoadEngine) {}

    /// Reports go out at once: the coordinator sizes the next release's lead from them.
    func released(_ release: BarrierRelease) {
        controlLoop.execute { [report] in report(release) }
    }

    func arrived(barrier: Int, generation: Int) {
        let schedule = pending.withLock { state -> Bool in
            state.counts[Key(barrier: barrier, generation: generation), default: 0] += 1
            if state.flushScheduled { return false }
            state.flushScheduled = true
            return true
        }
        // Arrivals that come together (a whole loop's users) travel as one message.
        if schedule { controlLoop.execute { [self] in flush() } }
    }

    private func flush() {
        let counts = pending.withLock { state -> [Key: Int] in
            let c = state.counts
            state.counts.removeAll()
            state.flushScheduled = false
            return c
        }
        for (key, count) in counts { send(key.barrier, key.generation, count) }
    }
}
