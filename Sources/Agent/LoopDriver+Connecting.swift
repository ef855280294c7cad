import JSON
import Net
import Scenario
import WebSocket

/// What a loop's users ask of it: a connection, a rendered message, a match, a field.
extension LoopDriver {
    func connect(user: VirtualUser, url template: Template?) throws(SocketError) -> WebSocketConnection {
        let targets = engine.targets
        let target = Int(user.number % Int64(scenario.targets.count))
        var options = targets.clientOptions
        if options.deflate != nil { options.compressionTally = compressionTally }
        let local = targets.localAddresses.isEmpty ? nil : targets.localAddresses[Int(user.number) % targets.localAddresses.count]
        options.localAddress = local
        let url: WebSocketURL
        let address: SocketAddress
        if template == nil, let constant = targets.constantURLs[target] {
            url = constant
            address = targets.targetAddresses[target]
            // The common case: everything about the request is known in advance.
            if let request = targets.requestTemplates[target] { options.requestTemplate = request }
        } else {
            prepareContext(for: user, seq: 0)
            let rendered = (template ?? scenario.targets[target]).renderString(&context)
            storeRandom(of: user)
            url = WebSocketURL(rendered) ?? targets.constantURLs[target] ?? WebSocketURL(host: "invalid")
            let host = targets.addresses[url.host] ?? targets.targetAddresses[target]
            address = SocketAddress(ip: host.ip, port: url.port)
        }
        if options.requestTemplate == nil && !scenario.headers.isEmpty {
            prepareContext(for: user, seq: 0)
            options.headers = scenario.headers.map { ($0.name, $0.value.renderString(&context)) }
            storeRandom(of: user)
        }
        if url.secure, let context = targets.tls {
            options.tls = ClientTLS(context: context, serverName: scenario.tls.serverName,
                                    session: scenario.tls.sessionReuse ? user.tlsSession : nil)
        }
        if tracksDelivery { user.joinDeliveryGroup(url: url) }
        let (socket, connected) = try engine.dialer.dial(address, from: local)
        return try WebSocketConnection.connect(socket: socket, connected: connected, peer: address, url: url, on: loop,
                                               options: options, delegate: user)
    }

    func prepareContext(for user: VirtualUser, seq: Int64) {
        context.vu = user.number
        context.seq = seq
        context.iteration = user.iteration
        let g = Int(user.group)
        if let feeder = groupFeeders[g] {
            context.row = feeder.row(for: Int(user.numberInGroup(groups: groups.count)))
        } else {
            context.row = scenario.feeder?.row(for: Int(user.number))
        }
        context.groupName = groupNames[g]
        if hasVariables { context.variables = user.extras?.variables ?? [] }
        context.randomState = user.randomState
    }

    /// Keeps what a rendering drew from the user's random sequence.
    @inline(__always)
    func storeRandom(of user: VirtualUser) { user.randomState = context.randomState }

    /// Renders `template` for `user`; the bytes are valid until the next render. `nowMicros`
    /// is the wall time `{{now_us}}` shows (default: now).
    func render(_ template: Template, for user: VirtualUser, seq: Int64, nowMicros: Int64? = nil) -> [UInt8] {
        if template.segments.count == 1, case let .literal(bytes) = template.segments[0] { return bytes }
        prepareContext(for: user, seq: seq)
        context.nowMicros = nowMicros ?? wallMicros()
        sendBuffer.removeAll(keepingCapacity: true)
        template.render(&context, into: &sendBuffer)
        storeRandom(of: user)
        return sendBuffer
    }

    func matches(_ matcher: MessageMatcher, _ payload: UnsafeRawBufferPointer, binary: Bool, user: VirtualUser, seq: Int64) -> Bool {
        if matcher.conditions.isEmpty { return true }
        prepareContext(for: user, seq: seq)
        return matcher.matches(payload, binary: binary, context: &context, scratch: &matchScratch)
    }

    /// Nanoseconds between `user`'s paced sends in the current phase, if its group or the phase
    /// has a rate.
    func sendInterval(for user: VirtualUser) -> Int64? {
        if let interval = groupSendIntervals[Int(user.group)] { return interval }
        switch slice.phases[currentPhase].rate {
        case nil:
            return nil
        case let .perConnection(r):
            return Int64(1e9 / r)
        case let .total(r):
            let users = Swift.max(1.0, slice.targetConnections(at: elapsed(clock.now()), in: scenario))
            return Int64(1e9 * users / r)
        }
    }

    /// `user`'s think time: its group's, or the current phase's.
    func thinkTime(for user: VirtualUser) -> Delay? { groupThinks[Int(user.group)] ?? scenario.phases[currentPhase].think }

    /// Counts one receiver's order fingerprint as `delivery.order.HEX` (receivers that saw the
    /// same order share a counter, across loops and agents).
    func countOrderFingerprint(_ hash: UInt64) {
        if fingerprints.contains(hash) || fingerprints.count < 1000 {
            fingerprints.insert(hash)
            metrics.add(named: "delivery.order.\(String(hash, radix: 16))")
        } else {
            metrics.add(named: "delivery.order.other")
        }
    }

    /// Wall-clock microseconds, corrected to the coordinator's clock in a cluster run.
    func wallMicros() -> Int64 { wallNanos() / 1000 }

    /// Wall-clock nanoseconds on the coordinator's clock: comparable across agents.
    func wallNanos() -> Int64 { clock.wallNanoseconds() + engine.clockOffset }

    /// Where a tracked message's fields are (`delivery.envelope`).
    @inline(__always)
    func trackedData(_ message: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        socketIOEnvelope ? SocketIOPacket.eventData(message) : message
    }

    func integerField(_ name: String, in payload: UnsafeRawBufferPointer) -> Int64? {
        var key = name
        return key.withUTF8 { JSONScanner.integer(UnsafeRawBufferPointer($0), in: payload) }
    }

    /// The sender (hashed) and sequence number of a tracked message, if it carries both.
    func deliveryKey(_ message: UnsafeRawBufferPointer) -> (UInt64, Int64)? {
        guard let senderField, let sequenceField, let payload = trackedData(message) else { return nil }
        guard let sender = senderField.withUnsafeBytes({ JSONScanner.field($0, in: payload) }),
              let sequence = sequenceField.withUnsafeBytes({ JSONScanner.integer($0, in: payload) }) else { return nil }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for i in sender.range { hash = (hash ^ UInt64(payload[i])) &* 0x100_0000_01b3 }
        return (hash, sequence)
    }
}
