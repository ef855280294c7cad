import CVolleyLinux
import Net
#if canImport(Glibc)
import Glibc
#endif

/// The parent of N worker processes: spawns them (each inherits one end of a socketpair as fd 3),
/// relays cross-worker traffic as the hub, owns the shared /state counter, sums metrics, and
/// forwards SIGINT/SIGTERM.
final class TargetSupervisor: EventHandler {
    let configuration: TargetConfiguration
    let executable: String
    private var loop: EventLoop!
    private var links: [HubLink?] = []
    private var pids: [Int32] = []
    private var counters: [[Int64]] = []
    private var stateValues: [String: UInt64] = [:]
    private var signalFD: Int32 = -1
    private var stopping = false
    private var exitCode: Int32 = 0

    init(configuration: TargetConfiguration, executable: String) {
        self.configuration = configuration
        self.executable = executable
    }

    func run() -> Int32 {
        let signals: [Int32] = [SIGINT, SIGTERM, SIGCHLD]
        signalFD = signals.withUnsafeBufferPointer { volley_signalfd($0.baseAddress, Int32($0.count)) }
        do {
            loop = try EventLoop()
            try loop.register(fd: signalFD, interest: .readable, handler: self)
            for index in 0..<configuration.workers { try spawn(index) }
            loop.schedule(after: Nanoseconds.milliseconds(200)) { [unowned self] in self.broadcastTotals() }
            loop.run()
            return exitCode
        } catch {
            Log.error("volley target: \(error)")
            for pid in pids where pid > 0 { _ = volley_kill(pid, SIGTERM) }
            return 1
        }
    }

    private func spawn(_ index: Int) throws(SocketError) {
        var pair: [Int32] = [0, 0]
        guard volley_socketpair(&pair) == 0 else { throw SocketError("socketpair") }
        let args = [executable, "target", "--listen", "\(configuration.listen)", "--workers", "\(configuration.workers)",
                    "--worker-index", "\(index)", "--hub-fd", "3"]
        var cArgs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        let pid = volley_spawn(executable, &cArgs, pair[1], 3)
        Glibc.close(pair[1])
        guard pid > 0 else {
            Glibc.close(pair[0])
            throw SocketError("spawn worker \(index)")
        }
        pids.append(pid)
        counters.append([])
        let link = try HubLink(fd: pair[0], loop: loop, onMessage: { [unowned self] in self.received($0, from: index) },
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

    func handleEvents(_ events: IOEvents) {
        while true {
            let signal = volley_signalfd_read(signalFD)
            if signal == 0 { break }
            if signal == SIGINT || signal == SIGTERM {
                if stopping {
                    for pid in pids where pid > 0 { _ = volley_kill(pid, SIGKILL) }
                } else {
                    stopping = true
                    for pid in pids where pid > 0 { _ = volley_kill(pid, SIGTERM) }
                    loop.schedule(after: Nanoseconds.seconds(5)) { [unowned self] in
                        for pid in self.pids where pid > 0 { _ = volley_kill(pid, SIGKILL) }
                    }
                }
            }
        }
        var status: Int32 = 0
        while true {
            let pid = volley_reap_child(&status)
            if pid <= 0 { break }
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
