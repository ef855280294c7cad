import ByteCoding
import Net

/// The opening handshake: the client's request and the server's answer (an upgrade, or a
/// plain HTTP response for /health, /metrics and refusals).
extension WebSocketConnection {
    /// Writes the upgrade request; if the connect is still in progress it stays queued.
    func sendHandshakeRequest(connected: Bool) {
        guard let handshake, let url = handshake.url else { return }
        if let template = handshake.template {
            let buffer = loop.scratch(atLeast: template.length)
            let n = withUnsafeBytes(of: handshake.keyBytes) { template.write(key: $0, into: buffer) }
            writeRequest(UnsafeRawBufferPointer(rebasing: buffer[0..<n]), handshake)
        } else {
            let request = ClientHandshake.request(url: url, key: handshake.key, subprotocols: handshake.subprotocols,
                                                  headers: handshake.headers, deflate: handshake.deflateOffer)
            request.withUnsafeBytes { writeRequest($0, handshake) }
        }
        handshake.headers = []
    }

    func writeRequest(_ request: UnsafeRawBufferPointer, _ handshake: HandshakeState) {
        switch transportWrite(request) {
        case let .transferred(n):
            phase = .handshaking
            if n < request.count { queue(UnsafeRawBufferPointer(rebasing: request[n...])) }
        case .wouldBlock, .endOfStream:
            // Still connecting (the kernel says EAGAIN until the TCP handshake completes).
            phase = .connecting
            queue(request)
        case let .failed(code):
            finish(.connectFailed(SocketError("connect", address: handshake.peer, code: code)))
        }
    }

    func processHandshake(_ bytes: UnsafeMutableRawBufferPointer) -> Int {
        if role == .server && tls == nil && bytes.first == 0x16 {
            // A TLS ClientHello (record type 22) on a plain port: answer at once rather than
            // wait for a request head that never comes.
            respond(status: 400, body: Array("this port speaks plain ws:// (HTTP), not TLS: connect with ws://\n".utf8))
            return bytes.count
        }
        let scan = HTTPHeadParser.scan(UnsafeRawBufferPointer(bytes))
        switch scan {
        case .incomplete:
            inputNeeded = UInt32(clamping: bytes.count + 1)
            return 0
        case .tooLarge:
            if role == .client {
                finish(.handshakeFailed(.responseTooLarge))
            } else {
                respond(status: 431, body: Array("request head too large".utf8))
            }
            return bytes.count
        case let .complete(length):
            let head = UnsafeRawBufferPointer(rebasing: bytes[0..<length])
            switch role {
            case .client:
                clientHandshakeResponse(head, rest: UnsafeRawBufferPointer(rebasing: bytes[length...]))
            case .server:
                serverHandshakeRequest(head)
            }
            return length
        }
    }

    func clientHandshakeResponse(_ head: UnsafeRawBufferPointer, rest: UnsafeRawBufferPointer) {
        guard let handshake else { return }
        if withUnsafeBytes(of: handshake.keyBytes, { ClientHandshake.isPlainAcceptance(head, key: $0) }) {
            becomeOpen()
            return
        }
        let response: HTTPResponseHead
        do {
            response = try HTTPHeadParser.parseResponse(head)
        } catch {
            finish(.handshakeFailed(.malformedResponse(error.reason)))
            return
        }
        do {
            let selected = try ClientHandshake.validate(response, body: Array(rest), key: handshake.key,
                                                        offeredSubprotocols: handshake.subprotocols,
                                                        offeredExtensions: handshake.deflateOffer != nil)
            if let selected { more.subprotocol = selected }
            if let offer = handshake.deflateOffer {
                let answer = response.headers.values("Sec-WebSocket-Extensions").joined(separator: ", ")
                if let agreed = try offer.accept(answer.isEmpty ? nil : answer) {
                    enableCompression(agreed, tally: handshake.compressionTally)
                }
            }
        } catch {
            finish(.handshakeFailed(error))
            return
        }
        becomeOpen()
    }

    func serverHandshakeRequest(_ head: UnsafeRawBufferPointer) {
        guard let router = handshake?.router else { return }
        let request: HTTPRequestHead
        do {
            request = try HTTPHeadParser.parseRequest(head)
        } catch {
            respond(status: 400, body: Array("\(error.reason)\n".utf8))
            return
        }
        let isUpgrade = ServerHandshake.isUpgradeRequest(request)
        var key = ""
        if isUpgrade {
            do {
                key = try ServerHandshake.validate(request).key
            } catch {
                respond(status: error.status, body: Array("\(error.message)\n".utf8), headers: error.extraHeaders)
                return
            }
        }
        switch router.route(request, connection: self) {
        case let .respond(status, contentType, body):
            respond(status: status, contentType: contentType, body: body)
        case let .upgrade(handler, selected):
            guard isUpgrade else {
                respond(status: 426, body: Array("this path speaks WebSocket: send an Upgrade request\n".utf8),
                        headers: [("Upgrade", "websocket")])
                return
            }
            if let selected { more.subprotocol = selected }
            delegate = handler
            var extensions: String?
            if let policy = handshake?.deflatePolicy,
               let (agreed, answer) = DeflateNegotiation.choose(request.headers.values("Sec-WebSocket-Extensions"), policy: policy) {
                enableCompression(agreed, tally: handshake?.compressionTally)
                extensions = answer
            }
            let response = ServerHandshake.acceptResponse(key: key, subprotocol: selected, extensions: extensions)
            _ = response.withUnsafeBytes { write($0) }
            becomeOpen()
        }
    }

    func respond(status: Int, contentType: String = "text/plain; charset=utf-8", body: [UInt8], headers: [(String, String)] = []) {
        let response = ServerHandshake.httpResponse(status: status, contentType: contentType, body: body, extraHeaders: headers)
        _ = response.withUnsafeBytes { write($0) }
        flags.insert(.closeAfterFlush)
        report(.answeredWithHTTP(status: status))
        enterDraining()
    }

    func becomeOpen() {
        guard phase != .closed else { return }
        phase = .open
        handshake = nil
        timerGeneration &+= 1
        updateInterest()
        delegate?.webSocketDidOpen(self)
    }
}
