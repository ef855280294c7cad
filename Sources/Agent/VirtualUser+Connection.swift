import Net
import Scenario
import WebSocket
#if canImport(Glibc)
import Glibc
#endif

/// Connecting, the opened connection, and how a connection's end is counted.
extension VirtualUser {
    /// Connects, once the loop has a connect slot free (`max_connecting`); until then the
    /// user waits in the loop's queue, reconnecting users and new ones alike.
    func connect(_ url: Template?) {
        guard driver.acquireConnectSlot(for: self, url: url) else {
            state = .queuedToConnect
            return
        }
        dial(url)
    }

    /// Opens the connection (the caller holds a connect slot).
    func dial(_ url: Template?) {
        state = .connecting
        connectStarted = now
        driver.metrics.add(.connectAttempts)
        do {
            connection = try driver.connect(user: self, url: url)
        } catch {
            driver.metrics.add(.errorConnect)
            driver.metrics.add(named: "errors.connect.\(error.codeName)")
            end(failed: true)
        }
    }

    /// The script closes the connection on purpose (see `offlineByScript`).
    func goOfflineByScript() {
        guard !offlineByScript else { return }
        offlineByScript = true
        driver.metrics.excuse(1, now: now)
    }

    /// The user has a connection again, or ended.
    func comeBackOnline(at time: Int64? = nil) {
        guard offlineByScript else { return }
        offlineByScript = false
        driver.metrics.excuse(-1, now: time ?? now)
    }

    func webSocketDidSecure(_ connection: WebSocketConnection, nanoseconds: Int64, resumed: Bool) {
        let m = driver.metrics
        m.add(.tlsHandshakes)
        if resumed { m.add(.tlsResumed) }
        m.tlsHandshake.record(nanoseconds / 1000)
    }

    func webSocketDidOpen(_ connection: WebSocketConnection) {
        let t = now

        driver.metrics.add(.connectionsOpened)
        driver.metrics.opened(now: t, runTime: t - driver.runStart)
        comeBackOnline(at: t)
        driver.metrics.connect.record((t - connectStarted) / 1000)
        if connection.deflate != nil { driver.metrics.add(.compressionConnections) }
        driver.userConnected(self)
        if extras?.expectedRefusal != nil {
            // The server accepted a connection the script expected it to refuse: that is the
            // error. The connection is closed and the script goes on, as after a refusal.
            extras?.expectedRefusal = nil
            driver.metrics.add(.errorHandshakeAccepted)
            goOfflineByScript()
            state = .closing
            connection.close(code: CloseCode.normal, reason: "expected a refusal")
            return
        }
        if driver.tracksDelivery { more.windowOpened = driver.wallNanos() }
        state = .running
        pc += 1
        advance()
    }

    func webSocket(_ connection: WebSocketConnection, didCloseWith outcome: CloseOutcome) {
        let wasOpen: Bool
        switch outcome {
        case .closed, .protocolViolation, .connectionLost: wasOpen = true
        case .timedOut(let phase): wasOpen = phase == "close"
        case .aborted: wasOpen = state != .connecting
        default: wasOpen = false
        }
        if wasOpen {
            driver.metrics.closed(now: now)
            driver.metrics.add(.connectionsClosed)
        }
        if wasOpen && driver.scenario.tls.sessionReuse, let session = connection.takeTLSSession() { tlsSession = session }
        self.connection = nil
        if driver.tracksDelivery { endDeliveryWindow() }
        if state == .ended { return }
        if state == .closing || state == .reconnecting {
            if case let .protocolViolation(v) = outcome { count(.protocolViolation(v)) }
            if stopRequested {
                end(failed: false)
            } else if state == .reconnecting {
                connect(nil)
            } else {
                state = .running
                pc += 1
                advance()
            }
            return
        }
        if stopRequested && state == .connecting {
            end(failed: false)
            return
        }
        if state == .connecting, let refusal = extras?.expectedRefusal {
            extras?.expectedRefusal = nil
            if case let .handshakeFailed(.unexpectedStatus(status, _, _)) = outcome, refusal.matches(status) {
                // Refused as the script expected: counted, not an error; the script goes on
                // without a connection.
                driver.metrics.add(.refusedAsExpected)
                driver.releaseConnectSlot()
                goOfflineByScript()
                state = .running
                pc += 1
                advance()
                return
            }
        }
        count(outcome)
        end(failed: true)
    }

    /// Counts an unexpected end of the connection by class.
    func count(_ outcome: CloseOutcome) {
        let m = driver.metrics
        switch outcome {
        case let .connectFailed(e):
            switch e.code {
            case ECONNREFUSED: m.add(.errorRefused)
            case ETIMEDOUT: m.add(.errorConnectTimeout)
            default:
                m.add(.errorConnect)
                m.add(named: "errors.connect.\(e.codeName)")
            }
        case let .handshakeFailed(.unexpectedStatus(status, _, _)):
            m.add(.errorHandshakeStatus)
            m.add(named: "errors.handshake_status.\(status)")
        case .handshakeFailed:
            m.add(.errorHandshake)
        case .timedOut(let phase):
            if phase == "close" { m.add(.errorConnectionLost) } else { m.add(.errorConnectTimeout) }
        case let .protocolViolation(v):
            m.add(.errorProtocolViolation)
            m.add(named: "errors.protocol_violation.\(v.rawValue)")
        case .closed:
            m.add(.errorClosedByServer)
        case .connectionLost:
            m.add(.errorConnectionLost)
        case let .tlsFailed(e):
            switch e.kind {
            case .verifyFailed:
                m.add(.errorTLSVerify)
                m.add(named: "errors.tls.verify_failed.\(MetricCatalog.slug(e.reason))")
            case .handshake, .setup:
                m.add(.errorTLSHandshake)
                m.add(named: "errors.tls.handshake.\(MetricCatalog.slug(e.reason))")
            case .timeout: m.add(.errorTLSTimeout)
            case .closedDuringHandshake: m.add(.errorTLSClosed)
            }
        case .answeredWithHTTP, .aborted:
            break
        }
    }
}
