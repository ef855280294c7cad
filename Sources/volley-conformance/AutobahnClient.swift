import Net
import WebSocket

/// Drives the standard Autobahn|Testsuite client loop with volley's WebSocket client:
/// getCaseCount, then runCase for every case (echoing every message), then updateReports.
final class AutobahnClient: WebSocketDelegate {
    private let base: WebSocketURL
    private let agent: String
    private let loop: EventLoop
    private let address: SocketAddress
    private var caseCount: Int?
    private var finished = false
    private var outcomes: [String: Int] = [:]

    init(base: WebSocketURL, agent: String, loop: EventLoop) throws {
        self.base = base
        self.agent = agent
        self.loop = loop
        address = try Resolver.resolve(host: base.host, port: base.port)[0]
    }

    /// Runs every case in order; returns the number of cases run.
    func run() throws -> Int {
        try runOne(target: "/getCaseCount")
        guard let count = caseCount else { throw ConformanceError("fuzzingserver did not report a case count") }
        print("autobahn-client: \(count) cases, agent \(agent)")
        for i in 1...count {
            try runOne(target: "/runCase?case=\(i)&agent=\(PercentCoding.encode(agent))")
            if i % 50 == 0 || i == count { print("  ran \(i)/\(count)") }
        }
        try runOne(target: "/updateReports?agent=\(PercentCoding.encode(agent))")
        let summary = outcomes.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        print("autobahn-client: connection outcomes: \(summary)")
        return count
    }

    private func runOne(target: String) throws {
        finished = false
        var url = base
        url.target = target
        var options = ClientOptions()
        options.limits = WebSocketLimits(maximumFrameSize: 64 << 20, maximumMessageSize: 64 << 20)
        options.openTimeout = Nanoseconds.seconds(30)
        // Offered on every case: the fuzzingserver accepts it for cases 12 and 13 only.
        options.deflate = DeflateOffer()
        _ = try WebSocketConnection.connect(to: address, url: url, on: loop, options: options, delegate: self)
        while !finished { loop.runOnce(maximumWait: Nanoseconds.milliseconds(100)) }
    }

    func webSocketDidOpen(_ connection: WebSocketConnection) {}

    func webSocket(_ connection: WebSocketConnection, didReceive payload: UnsafeRawBufferPointer, opcode: Opcode) {
        if caseCount == nil, opcode == .text {
            caseCount = Int(String(decoding: payload, as: UTF8.self))
            return
        }
        connection.send(opcode, payload)
    }

    func webSocket(_ connection: WebSocketConnection, didCloseWith outcome: CloseOutcome) {
        let key: String
        switch outcome {
        case .closed: key = "closed"
        case .protocolViolation(let v): key = "violation:\(v.rawValue)"
        case .connectionLost: key = "lost"
        case .timedOut(let phase): key = "timeout:\(phase)"
        default: key = "\(outcome)"
        }
        outcomes[key, default: 0] += 1
        finished = true
    }
}

struct ConformanceError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
