import Net
#if canImport(Glibc)
import Glibc
#endif

/// The parent of N worker processes: spawns them (each inherits one end of a socketpair as fd 3),
/// relays cross-worker traffic as the hub, owns the shared /state counter, sums metrics, and
/// forwards SIGINT/SIGTERM.
final class TargetSupervisor {
    let configuration: TargetConfiguration
    let executable: String
    private var loop: EventLoop!
    private var links: [HubLink?] = []
    private var pids: [Int32] = []
    private var counters: [[Int64]] = []
    private var stateValues: [String: UInt64] = [:]
    private var signals: SignalWatcher?
    private var stopping = false
    private var exitCode: Int32 = 0

    init(configuration: TargetConfiguration, executable: String) {
        self.configuration = configuration
        self.executable = executable
    }

    func run() -> Int32 {
        do {
            loop = try EventLoop()
            signals = try SignalWatcher([SIGINT, SIGTERM, SIGCHLD], loop: loop) { [unowned self] in self.signalled($0) }
            for index in 0..<configuration.workers { try spawn(index) }
            loop.schedule(after: Nanoseconds.milliseconds(200)) { [unowned self] in self.broadcastTotals() }
            loop.run()
            return exitCode
        } catch {
            Log.error("volley target: \(error)")
            signalWorkers(SIGTERM)
            return 1
        }
    }

    private func spawn(_ index: Int) throws(SocketError) {
        let (ours, theirs) = try Socket.pair()
        let args = [executable, "target", "--listen", "\(configuration.listen)", "--workers", "\(configuration.workers)",
                    "--worker-index", "\(index)", "--hub-fd", "3"] + configuration.tlsArguments
        let child: ChildProcess
        do {
            child = try ChildProcess(path: executable, arguments: args, inherit: (theirs.fd, 3))
        } catch {
            theirs.close()
            ours.close()
            throw SocketError("spawn worker \(index)")
        }
        theirs.close()
        pids.append(child.pid)
        counters.append([])
        let link = try HubLink(fd: ours.fd, loop: loop, onMessage: { [unowned self] in self.received($0, from: index) },
                               onClose: { [unowned self] in self.links[index] = nil })
        links.append(link)
    }

    private func received(_ message: HubMessage, from worker: Int) {
        switch message {
        case .publish:
            for (i, link) in links.enumerated() where i != worker { link?.send(message) }
        case let .increment(name, count):
            let value = (stateValues[name] ?? 0) + count
            stateValues[name] = value
            for link in links { link?.send(.stateValue(name: name, value: value)) }
        case let .counters(index, values):
            if counters.indices.contains(index) { counters[index] = values }
        case .stateValue, .totals:
            break
        }
    }

    private func broadcastTotals() {
        let width = counters.map(\.count).max() ?? 0
        var sum = [Int64](repeating: 0, count: width)
        for c in counters { for (i, v) in c.enumerated() { sum[i] += v } }
        for link in links { link?.send(.totals(workers: configuration.workers, values: sum)) }
        loop.schedule(after: Nanoseconds.milliseconds(200)) { [unowned self] in self.broadcastTotals() }
    }

    private func signalWorkers(_ signal: Int32) {
        for pid in pids where pid > 0 { ChildProcess.signal(pid, signal) }
    }

    private func signalled(_ signal: Int32) {
        if signal == SIGINT || signal == SIGTERM {
            if stopping {
                signalWorkers(SIGKILL)
            } else {
                stopping = true
                signalWorkers(SIGTERM)
                loop.schedule(after: Nanoseconds.seconds(5)) { [unowned self] in self.signalWorkers(SIGKILL) }
            }
        }
        while let (pid, status) = ChildProcess.reapAny() {
            if let i = pids.firstIndex(of: pid) {
                pids[i] = -1
                if !stopping {
                    Log.error("volley target: worker \(i) (pid \(pid)) exited with status \(status)")
                    exitCode = 1
                }
            }
        }
        if pids.allSatisfy({ $0 <= 0 }) { loop.stop() }
    }
}
