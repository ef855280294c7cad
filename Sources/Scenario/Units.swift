/// Parsing of the units scenario files use: durations, rates, connection counts.
public enum Units {
    /// "250ms", "30s", "5m", "1h", "1.5s", "1h30m", "2m30s", "500us" → nanoseconds.
    public static func duration(_ text: String) -> Int64? {
        let t = text.trimmingCharacters(in: " ")
        guard !t.isEmpty else { return nil }
        var total: Double = 0
        var number = ""
        var i = t.startIndex
        var sawUnit = false
        while i < t.endIndex {
            let c = t[i]
            if c.isNumber || c == "." {
                number.append(c)
                i = t.index(after: i)
                continue
            }
            var unit = ""
            while i < t.endIndex, t[i].isLetter || t[i] == "µ" {
                unit.append(t[i])
                i = t.index(after: i)
            }
            guard let value = Double(number) else { return nil }
            let scale: Double
            switch unit {
            case "ns": scale = 1
            case "us", "µs": scale = 1e3
            case "ms": scale = 1e6
            case "s": scale = 1e9
            case "m", "min": scale = 60e9
            case "h": scale = 3600e9
            default: return nil
            }
            total += value * scale
            number = ""
            sawUnit = true
        }
        guard number.isEmpty, sawUnit, total.isFinite, total < 1e18 else { return nil }
        return Int64(total.rounded())
    }

    /// "10/s", "600/m", "1/h", "0.5/s" → events per second.
    public static func ratePerSecond(_ text: String) -> Double? {
        let parts = text.replacingOccurrences(of: " ", with: "").split(separator: "/")
        guard parts.count == 2, let count = Double(parts[0]), count >= 0, count.isFinite else { return nil }
        let per: Double
        switch parts[1] {
        case "s", "sec": per = 1
        case "m", "min": per = 60
        case "h": per = 3600
        default:
            guard let d = duration(String(parts[1])), d > 0 else { return nil }
            per = Double(d) / 1e9
        }
        return count / per
    }

    /// Renders nanoseconds compactly: "250ms", "1.5s", "5m", "1h30m".
    public static func describe(nanoseconds ns: Int64) -> String {
        if ns == 0 { return "0s" }
        if ns % 3_600_000_000_000 == 0 { return "\(ns / 3_600_000_000_000)h" }
        if ns >= 3_600_000_000_000 { return "\(ns / 3_600_000_000_000)h" + describe(nanoseconds: ns % 3_600_000_000_000) }
        if ns % 60_000_000_000 == 0 { return "\(ns / 60_000_000_000)m" }
        if ns >= 60_000_000_000 && ns % 1_000_000_000 == 0 { return "\(ns / 60_000_000_000)m\(ns % 60_000_000_000 / 1_000_000_000)s" }
        if ns % 1_000_000_000 == 0 { return "\(ns / 1_000_000_000)s" }
        if ns >= 1_000_000_000 { return "\(Double(ns / 1_000_000) / 1000)s" }
        if ns % 1_000_000 == 0 { return "\(ns / 1_000_000)ms" }
        if ns >= 1_000_000 { return "\(Double(ns / 1000) / 1000)ms" }
        if ns % 1000 == 0 { return "\(ns / 1000)us" }
        return "\(ns)ns"
    }
}

extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var out = ""
        var rest = Substring(self)
        while let r = rest.range(of: target) {
            out += rest[..<r.lowerBound]
            out += replacement
            rest = rest[r.upperBound...]
        }
        return out + rest
    }
}

extension Substring {
    func range(of target: String) -> Range<Substring.Index>? {
        guard !target.isEmpty, count >= target.count else { return nil }
        var i = startIndex
        while i < endIndex {
            if self[i...].hasPrefix(target) { return i..<index(i, offsetBy: target.count) }
            i = index(after: i)
        }
        return nil
    }
}
