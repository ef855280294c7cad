import Scenario
import Stats

extension MetricSet {
    /// Sum of every counter whose name starts with "errors." (one level: "errors.refused",
    /// not the per-status breakdowns "errors.handshake_status.403").
    public var errorCount: Int64 {
        counters.filter { MetricCatalog.isErrorClass($0.key) }.reduce(0) { $0 + $1.value }
    }

    /// Error counters by class, largest first (including breakdowns).
    public var errorsByClass: [(name: String, count: Int64)] {
        counters.filter { $0.key.hasPrefix("errors.") && $0.value > 0 }
            .map { (String($0.key.dropFirst("errors.".count)), $0.value) }
            .sorted { $0.1 > $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }
    }
}

extension MetricSet {
    /// Receivers' arrival orders (`delivery.order.*` fingerprints): how many receivers reported,
    /// how many distinct orders they saw, and how many differ from the most common order.
    public var orderDivergence: (receivers: Int64, orders: Int, divergent: Int64)? {
        let prints = counters.filter { $0.key.hasPrefix("delivery.order.") }
        guard !prints.isEmpty else { return nil }
        let receivers = prints.values.reduce(0, +)
        let common = prints.filter { $0.key != "delivery.order.other" }.values.max() ?? 0
        return (receivers, prints.count, receivers - common)
    }
}
