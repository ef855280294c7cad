import Net
import Stats
import WireProtocol

/// How the coordinator reaches an agent.
public enum AgentEndpoint {
    /// A `volley agent` at this address (TCP).
    case address(SocketAddress)
    /// An agent in this process: given the coordinator's loop, returns the coordinator's end
    /// of a channel to it.
    case inProcess(name: String, connect: (EventLoop) throws -> WireChannel)
}

/// One agent as the coordinator sees it: the handshake it went through, its clock, its slice,
/// what it reported, and whether it is still there.
final class AgentLink {
    enum State { case greeting, authenticating, awaitingCapacity, syncing, preparing, prepared, running, finished, lost }

    static let initialProbes = 8

    let index: Int
    let endpoint: AgentEndpoint
    var name: String
    var channel: WireChannel?
    var state = State.greeting
    let nonce = SecureRandom.bytes(32)
    var agentNonce: [UInt8] = []
    var capacity: WireMessage.Capacity?
    var clock = ClockEstimate()
    var probesAnswered = 0
    private var probeID: UInt32 = 0
    /// Per second: counters and gauges; histograms only in the running total (memory stays
    /// flat however many agents and seconds).
    var series = IntervalSeries(keepsIntervalHistograms: false)
    /// Seconds reported so far (the next second expected).
    var reported = 0
    var lastHeard = Instant(nanoseconds: 0)
    var actualStart: Int64?
    var lostAt: Double?
    var lostReason: String?
    var timeline: [Int64] = []
    /// Delivery accounting: the groups the agent's receivers were in, once it sent its senders.
    var deliveryGroups: [String]?
    /// Control-plane bytes, kept when the channel goes away.
    var bytesReceived = 0
    var bytesSent = 0

    init(index: Int, endpoint: AgentEndpoint) {
        self.index = index
        self.endpoint = endpoint
        switch endpoint {
        case let .address(a): name = "\(a)"
        case let .inProcess(n, _): name = n
        }
    }

    /// A remote agent's address (nil in process).
    var address: SocketAddress? {
        if case let .address(a) = endpoint { return a }
        return nil
    }

    var isInProcess: Bool { address == nil }

    /// Sends `count` clock probes a few milliseconds apart.
    func probe(count: Int, on loop: EventLoop, wall: @escaping () -> Int64) {
        for i in 0..<count {
            loop.schedule(after: Nanoseconds.milliseconds(Int64(i * 5))) { [weak self] in
                guard let self else { return }
                probeID += 1
                channel?.send(.clockProbe(id: probeID, sentAt: wall()))
            }
        }
    }

    func clockReply(sent: Int64, received: Int64, replied: Int64, now: Int64) {
        clock.add(sent: sent, received: received, replied: replied, returned: now)
        probesAnswered += 1
        if state == .running { channel?.send(.clockOffset(clock.offset)) }
    }

    /// Keeps the channel's byte counts (before it goes away).
    func noteBytes() {
        guard let channel else { return }
        bytesReceived = channel.bytesReceived
        bytesSent = channel.bytesSent
    }
}
