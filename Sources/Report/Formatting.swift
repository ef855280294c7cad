/// How figures are printed in progress lines, tables and reports.
public enum Format {
    /// A latency in microseconds: "850µs", "1.23ms", "2.5s".
    public static func micros(_ us: Int64) -> String {
        if us < 1000 { return "\(us)µs" }
        if us < 10_000 { return fixed(Double(us) / 1000, 2) + "ms" }
        if us < 1_000_000 { return fixed(Double(us) / 1000, 1) + "ms" }
        return fixed(Double(us) / 1e6, 2) + "s"
    }

    /// A count with k/M suffixes: "950", "12.3k", "4.56M".
    public static func count(_ n: Double) -> String {
        let a = abs(n)
        if a < 1000 { return n == n.rounded() ? String(Int64(n)) : fixed(n, 1) }
        if a < 1_000_000 { return fixed(n / 1000, a < 10_000 ? 2 : 1) + "k" }
        return fixed(n / 1e6, 2) + "M"
    }

    /// Bytes with binary units.
    public static func bytes(_ n: Int64) -> String {
        let d = Double(n)
        if n < 1024 { return "\(n) B" }
        if n < 1 << 20 { return fixed(d / 1024, 1) + " KiB" }
        if n < 1 << 30 { return fixed(d / 1_048_576, 1) + " MiB" }
        return fixed(d / 1_073_741_824, 2) + " GiB"
    }

    /// A percentage with enough digits to tell 99.9% from 100%.
    public static func percent(_ fraction: Double) -> String {
        let p = fraction * 100
        if p == 100 || p == 0 { return "\(Int(p))%" }
        return fixed(p, p > 99 || p < 1 ? 3 : 1) + "%"
    }

    /// A latency in microseconds given as a real number (a mean, a figure read from a file).
    public static func micros(_ us: Double) -> String {
        guard us.isFinite, abs(us) < 9e18 else { return fixed(us, 0) + "µs" }
        return micros(Int64(us.rounded()))
    }

    /// `v` with exactly `digits` decimals.
    public static func fixed(_ v: Double, _ digits: Int) -> String {
        guard v.isFinite else { return "-" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        // Beyond what Int64 holds, exact decimals mean nothing: the shortest exact form.
        guard abs(v) * scale < 9e18 else { return String(v) }
        let r = (abs(v) * scale).rounded()
        let whole = Int64(r / scale)
        var frac = String(Int64(r) - whole * Int64(scale))
        while frac.count < digits { frac = "0" + frac }
        let sign = v < 0 && r != 0 ? "-" : ""
        return digits == 0 ? "\(sign)\(whole)" : "\(sign)\(whole).\(frac)"
    }

    /// Pads on the right to `width`.
    public static func left(_ s: String, _ width: Int) -> String { s.count >= width ? s : s + String(repeating: " ", count: width - s.count) }

    /// Pads on the left to `width`.
    public static func right(_ s: String, _ width: Int) -> String { s.count >= width ? s : String(repeating: " ", count: width - s.count) + s }
}
