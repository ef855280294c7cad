/// Receives a channel's messages on the thread of the loop that owns the channel's end.
public protocol WireChannelDelegate: AnyObject {
    /// A complete, decoded message.
    func wire(_ channel: WireChannel, received message: WireMessage)
    /// The channel ended; `reason` says why when it was not a clean close. Called once.
    func wireClosed(_ channel: WireChannel, reason: String?)
}

/// One end of a coordinator-agent link: a TCP `WireConnection` to a remote agent, or an
/// `InProcessChannel` to an agent in the same process. The coordinator and the agent speak
/// through this alone, so a local run takes exactly the path of a cluster run.
public protocol WireChannel: AnyObject {
    var delegate: WireChannelDelegate? { get set }
    /// Queues `message` for the other end.
    func send(_ message: WireMessage)
    /// Queues `message`, then closes once it has gone out.
    func send(_ message: WireMessage, thenClose: Bool)
    /// Closes the channel; the delegate hears `wireClosed` once.
    func close(reason: String?)
    /// Set once the peer proved it holds the token (TCP raises its frame limit then).
    var authenticated: Bool { get set }
    /// Control-plane bytes so far (0 in process: nothing crosses a wire).
    var bytesReceived: Int { get }
    var bytesSent: Int { get }
    /// Who is at the other end, for messages.
    var peerDescription: String { get }
}
