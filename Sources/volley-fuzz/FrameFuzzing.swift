import Net
import WebSocket

/// Drives volley's real client connection with bytes a hostile server sends after a valid
/// opening handshake: frame parsing, masking rules, UTF-8 validation, control frames, the close
/// handshake and, with `deflate`, inflation. The oracles: every connection reports exactly one
/// outcome, and every text message delivered is valid UTF-8.
final class FrameFuzzing: WebSocketDelegate {
    let loop: EventLoop
    let deflate: Bool
    private var outcomes = 0
    private let sink = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 8)

    init(deflate: Bool) {
        self.deflate = deflate
        ProcessSetup.ignoreBrokenPipes()
        do {
            loop = try EventLoop(readBufferSize: 64 * 1024)
        } catch {
            fatalError("cannot create an event loop: \(error)")
        }
    }

    func run(_ input: UnsafeRawBufferPointer) {
        guard let (client, server) = try? Socket.pair() else { return }
        defer { server.close() }
        outcomes = 0
        var options = ClientOptions()
        options.openTimeout = nil
        options.limits = WebSocketLimits(maximumFrameSize: 1 << 20, maximumMessageSize: 1 << 20)
        var body = input
        var extensions: String?
        if deflate {
            options.deflate = DeflateOffer()
            // The first byte picks what the server agrees to.
            let choice = input.first ?? 0
            body = UnsafeRawBufferPointer(rebasing: input[Swift.min(1, input.count)...])
            extensions = ["permessage-deflate", "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
                          "permessage-deflate; server_max_window_bits=9", "permessage-deflate; client_max_window_bits=9; server_max_window_bits=8"][Int(choice % 4)]
        }
        guard let url = WebSocketURL("ws://fuzz.invalid/"),
              let connection = try? WebSocketConnection.connect(socket: client, connected: true, peer: nil, url: url, on: loop,
                                                                options: options, delegate: self) else { return }
        // Answer the request the client wrote, then send the input.
        guard case let .transferred(n) = server.read(into: sink),
              let key = Self.key(in: UnsafeRawBufferPointer(rebasing: sink[0..<n])) else {
            fatalError("the client did not send its request at once")
        }
        _ = ServerHandshake.acceptResponse(key: key, extensions: extensions).withUnsafeBytes { server.write($0) }
        var offset = 0, idle = 0
        for _ in 0..<64 where outcomes == 0 && idle < 2 {
            if offset < body.count, case let .transferred(w) = server.write(UnsafeRawBufferPointer(rebasing: body[offset...])) { offset += w }
            if offset == body.count { idle += 1 }
            loop.runOnce(maximumWait: 0)
            while case .transferred = server.read(into: sink) {}      // pongs, echoes of close
        }
        if outcomes == 0 {
            server.shutdownWrite()
            for _ in 0..<4 where outcomes == 0 { loop.runOnce(maximumWait: 0) }
        }
        if outcomes == 0 { connection.abort() }
        guard outcomes == 1 else { fatalError("a connection reported \(outcomes) outcomes") }
    }

    static func key(in request: UnsafeRawBufferPointer) -> String? {
        let text = String(decoding: request, as: UTF8.self)
        guard let line = text.split(separator: "\r\n").first(where: { $0.lowercased().hasPrefix("sec-websocket-key:") }) else { return nil }
        return String(line.dropFirst("sec-websocket-key:".count)).trimmingCharacters(in: " ")
    }

    func webSocketDidOpen(_ connection: WebSocketConnection) {}

    func webSocket(_ connection: WebSocketConnection, didReceive payload: UnsafeRawBufferPointer, opcode: Opcode) {
        if opcode == .text && String(validating: payload, as: UTF8.self) == nil {
            fatalError("a text message that is not UTF-8 was delivered")
        }
    }

    func webSocket(_ connection: WebSocketConnection, didCloseWith outcome: CloseOutcome) { outcomes += 1 }
}

extension String {
    fileprivate func trimmingCharacters(in set: Character) -> String {
        String(drop { $0 == set }.reversed().drop { $0 == set }.reversed())
    }
}
