/// `on:`: whenever a received message matches, act at once (reply, capture, count, measure)
/// without blocking the user's steps: answering heartbeats, acknowledging deliveries. The
/// message is the handler's: the steps do not see it.
public struct MessageHandler: Sendable {
    /// Names the handler's counters (`handlers.NAME.matched`); optional.
    public var name: String?
    public var matcher: MessageMatcher
    /// The reply, if any (text unless `binary`).
    public var reply: Template?
    public var binary: Bool
    public var captures: [Capture]
    /// A latency metric recording the one-way delay from the message's timestamp field
    /// (wall-clock µs, as `sent_at` in delivery tracking).
    public var measure: String?
    public var latencyField: String?
    public var line: Int

    public init(name: String?, matcher: MessageMatcher, reply: Template?, binary: Bool, captures: [Capture],
                measure: String?, latencyField: String?, line: Int) {
        self.name = name
        self.matcher = matcher
        self.reply = reply
        self.binary = binary
        self.captures = captures
        self.measure = measure
        self.latencyField = latencyField
        self.line = line
    }
}

extension Scenario {
    /// The handlers a group's users run: the scenario's `on:`, then the group's own.
    public func handlers(of group: UserGroup) -> [MessageHandler] { handlers + group.handlers }
}
