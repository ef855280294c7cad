import Net
import Report
import Stats

/// The run's seconds handed on as they become complete, and its results at the end.
extension RunCoordinator {
    /// Hands on every second all live agents have reported (or that is overdue), and stops the
    /// run when an abort_on_fail threshold failed on one.
    func handOnReadyIntervals() {
        guard stage == .running || stage == .finishing || stage == .done else { return }
        let live = links.filter { $0.state == .running }
        let elapsed = Int(startInstant.nanoseconds(to: now) / 1_000_000_000)
        let ready = pipeline.takeReady(reportedThrough: live.map(\.reported).min(), elapsed: elapsed)
        let agents = (links.filter { $0.state != .lost }.count, links.filter { $0.state == .lost }.count)
        for (second, metrics) in ready { onInterval?(second, metrics, agents) }
        if let failing = pipeline.failing, abortingThreshold == nil, abortReason == nil {
            abortingThreshold = failing
            notice("volley: stopping the run: \(failing.summary) and it is marked abort_on_fail")
            abort("threshold \(failing.threshold.label) failed (\(failing.observedText))")
        }
    }

    /// Once every agent still running has reported its senders, each gets the book of the
    /// senders in its receivers' groups (from every agent), to count its receivers' completeness.
    func sendDeliveryBooks() {
        guard !deliveryBookSent else { return }
        let running = links.filter { $0.state == .running }
        guard !running.isEmpty, running.allSatisfy({ $0.deliveryGroups != nil }) else { return }
        deliveryBookSent = true
        for link in running {
            let groups = Set(link.deliveryGroups ?? [])
            link.channel?.send(.deliveryBook(runID: request.runID, senders: deliverySenders.filter { groups.contains($0.group) }))
        }
    }

    func results() -> RunResults {
        let duration = Double(startInstant.nanoseconds(to: endedAt ?? now)) / 1e9
        let starts = links.compactMap(\.actualStart)
        var results = RunResults(scenario: scenario, runID: request.runID, startedAt: Double(startWall) / 1e9, duration: duration,
                                 status: abortReason == nil ? .completed : .aborted, abortReason: abortReason, series: pipeline.merged,
                                 agents: links.map { link in
                                     var a = AgentResult(index: link.index, name: link.name, host: link.capacity?.hostName ?? link.name,
                                                         lostAt: link.lostAt, lostReason: link.lostReason, series: link.series,
                                                         clockOffset: link.clock.best?.offset, clockRoundTrip: link.clock.best?.roundTrip)
                                     a.controlBytesReceived = link.bytesReceived
                                     a.controlBytesSent = link.bytesSent
                                     a.startOffset = link.actualStart.map { $0 - startWall }
                                     return a
                                 },
                                 startSpreadMicros: starts.count > 1 ? (starts.max()! - starts.min()!) / 1000 : nil)
        results.seed = request.seed
        // Each agent's k-th milestone is its k·1000th connection; the cluster passes n·1000 at
        // the n-th milestone in time order.
        results.connectionTimeline = links.flatMap(\.timeline).sorted().map { Double($0) / 1e9 }
        results.barriers = ledger.outcomes
        if scenario.delivery != nil {
            results.delivery = completeness.keys.sorted().map { completeness[$0]! }
            // Expected and missing are counted once, at the end: they go into the last second.
            let expected = results.delivery.reduce(Int64(0)) { $0 + $1.expected }
            let missing = results.delivery.reduce(Int64(0)) { $0 + $1.missing }
            let last = pipeline.merged.seconds.last ?? 0
            results.series.merge(CompactMetricSet(counters: ["delivery.expected": expected, "delivery.missing": missing]), at: last)
        }
        results.abortingThreshold = abortingThreshold
        return results
    }
}
