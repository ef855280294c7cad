import Net
import Scenario

/// Delivery tracking: per-sender sequences of received broadcasts, one-way latency, and order
/// fingerprints.
extension VirtualUser {
    func track(_ payload: UnsafeRawBufferPointer, _ t: Int64) {
        guard let (sender, sequence) = driver.deliveryKey(payload) else { return }
        driver.metrics.add(.deliveryReceived)
        let extras = more
        if driver.tracksOrder {
            for v in [sender, UInt64(bitPattern: sequence)] { extras.orderHash = (extras.orderHash ^ v) &* 0x100_0000_01b3 }
            extras.orderedMessages += 1
        }
        switch extras.delivery[sender, default: SequenceTracker()].record(sequence) {
        case .new: break
        case .outOfOrder: driver.metrics.add(.deliveryOutOfOrder)
        case .duplicate: driver.metrics.add(.deliveryDuplicated)
        case .invalid: break
        }
        if let latency = driver.deliveryLatency, let field = driver.sentAtField, let sent = driver.integerField(field, in: payload) {
            driver.metrics.measures[latency].record(driver.wallMicros() - sent)
        }
    }

    /// Counts the gaps in every sender's sequence (messages never received) once the user ends.
    func flushDelivery() {
        guard let extras else { return }
        if driver.tracksOrder && extras.orderedMessages > 0 {
            driver.countOrderFingerprint(extras.orderHash)
            extras.orderedMessages = 0
        }
        var missing: Int64 = 0
        for tracker in extras.delivery.values { missing += tracker.missing }
        if missing > 0 { driver.metrics.add(.deliveryMissing, missing) }
        extras.delivery.removeAll()
    }
}
