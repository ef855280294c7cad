import Net
import Scenario
import Stats
import WebSocket

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
        if let latency = driver.deliveryLatency[Int(group)], let field = driver.sentAtField, let data = driver.trackedData(payload),
           let sent = driver.integerField(field, in: data) {
            driver.metrics.measures[latency].record(driver.wallMicros() - sent)
        }
    }

    /// The user connected to `url`: it joins its delivery group (the scenario's `group`, or the
    /// URL's path).
    func joinDeliveryGroup(url: WebSocketURL) {
        guard more.deliveryGroup < 0 else { return }
        let name: String
        if let template = driver.scenario.delivery?.group {
            driver.prepareContext(for: self, seq: seq)
            name = template.renderString(&driver.context)
            driver.storeRandom(of: self)
        } else {
            name = String(url.target.prefix { $0 != "?" })
        }
        more.deliveryGroup = driver.deliveryLedger.group(name)
    }

    /// The connection stops counting as a receiving window (the user began to close, or lost it).
    func endDeliveryWindow() {
        guard let extras, let opened = extras.windowOpened else { return }
        extras.windowOpened = nil
        extras.windows.append((opened, driver.wallNanos(), driver.isEnding))
    }

    /// Notes a tracked message this user sent (one carrying the sender and sequence fields).
    func noteSent(_ payload: UnsafeRawBufferPointer) {
        guard let (sender, sequence) = driver.deliveryKey(payload) else { return }
        noteSent(sender: sender, sequence: sequence)
    }

    func noteSent(sender: UInt64, sequence: Int64) {
        let extras = more
        let now = driver.wallNanos()
        if extras.sentTally == nil || extras.sentTally?.sender != sender {
            if var done = extras.sentTally, extras.deliveryGroup >= 0 {      // the user changed its sender name
                done.group = driver.deliveryLedger.groups[Int(extras.deliveryGroup)]
                driver.deliveryLedger.add(done)
            }
            extras.sentTally = SenderSummary(group: "", sender: sender, firstSequence: sequence, lastSequence: sequence, count: 1,
                                             firstSentAt: now, lastSentAt: now)
        } else {
            extras.sentTally!.merge(SenderSummary(group: "", sender: sender, firstSequence: sequence, lastSequence: sequence, count: 1,
                                                  firstSentAt: now, lastSentAt: now))
        }
    }

    /// The user ended: its order fingerprint is counted, and what it sent and received goes
    /// into the loop's delivery ledger for the end-of-run accounting.
    func flushDelivery() {
        guard let extras else { return }
        if driver.tracksOrder && extras.orderedMessages > 0 {
            driver.countOrderFingerprint(extras.orderHash)
            extras.orderedMessages = 0
        }
        guard driver.tracksDelivery, extras.deliveryGroup >= 0 else { return }
        let groupName = driver.deliveryLedger.groups[Int(extras.deliveryGroup)]
        let ownSender = extras.sentTally?.sender
        if var sent = extras.sentTally {
            sent.group = groupName
            driver.deliveryLedger.add(sent)
            extras.sentTally = nil
        }
        if !extras.windows.isEmpty {
            driver.deliveryLedger.add(DeliveryLedger.Receiver(group: extras.deliveryGroup, windows: extras.windows,
                                                              ownSender: ownSender, trackers: extras.delivery))
        }
        extras.windows.removeAll()
        extras.delivery.removeAll()
    }
}
