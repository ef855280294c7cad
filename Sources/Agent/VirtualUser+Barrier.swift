import Net
import Scenario
import WebSocket

/// Waiting at a barrier and being released at the named instant with the next frame prepared.
extension VirtualUser {
    /// The barrier this user waits at will release at wall time `wallMicros`: if the next step
    /// is an unpaced send, build its frame now, so the release costs one write.
    func prepareForRelease(wallMicros: Int64) {
        guard state == .atBarrier, let connection, connection.phase == .open, pc + 1 < driver.program.code.count,
              case let .send(unmanaged) = driver.program.code[pc + 1], driver.sendInterval(for: self) == nil else { return }
        let extras = more
        unmanaged._withUnsafeGuaranteedRef { step in
            let bytes = driver.render(step.payload, for: self, seq: seq + 1, nowMicros: wallMicros)
            extras.preparedLength = bytes.count
            if driver.tracksDelivery { extras.preparedKey = bytes.withUnsafeBytes { driver.deliveryKey($0) } }
            extras.preparedFrame = bytes.withUnsafeBytes { connection.prepareFrame(step.binary ? .binary : .text, $0) }
        }
    }

    /// The barrier this user waits at has released (at `instant`, on this loop's clock).
    /// Returns when its prepared send went out, if it had one.
    @discardableResult
    func released(at instant: Int64, timedOut: Bool) -> Int64? {
        guard state == .atBarrier else { return nil }
        if timedOut { driver.metrics.add(.errorBarrierTimeout) }
        state = .running
        pc += 1
        var sentAt: Int64?
        if let extras, let frame = extras.preparedFrame {
            extras.preparedFrame = nil
            defer { extras.preparedKey = nil }
            seq += 1
            if let connection, connection.sendPrepared(frame) {
                let t = now
                sentAt = t
                driver.metrics.add(.messagesSent)
                driver.metrics.add(.bytesSent, Int64(extras.preparedLength))
                driver.metrics.barrierSend.record(Swift.max(0, (t - instant) / 1000))
                lastSendOrigin = instant
                if let key = extras.preparedKey { noteSent(sender: key.sender, sequence: key.sequence) }
            } else {
                driver.metrics.add(.errorSendFailed)
            }
            pc += 1
        }
        advance()
        return sentAt
    }
}
