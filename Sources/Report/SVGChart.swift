#if canImport(Glibc)
import Glibc
#endif

/// Charts drawn as inline SVG, so the report is one file that needs nothing else to open.
public enum SVGChart {
    /// One line of a chart.
    public struct Line: Sendable {
        public var name: String
        public var color: String
        public var points: [(x: Double, y: Double)]
        public var dashed = false

        public init(name: String, color: String, points: [(x: Double, y: Double)], dashed: Bool = false) {
            self.name = name
            self.color = color
            self.points = points
            self.dashed = dashed
        }
    }

    /// A shaded stretch of the x axis (a phase).
    public struct Band: Sendable {
        public var start: Double
        public var end: Double
        public var label: String
        public init(start: Double, end: Double, label: String) {
            self.start = start
            self.end = end
            self.label = label
        }
    }

    /// A horizontal line at a threshold's limit, across the whole chart or one stretch of x.
    public struct Limit: Sendable {
        public var value: Double
        public var label: String
        public var from: Double?
        public var to: Double?
        public init(value: Double, label: String, from: Double? = nil, to: Double? = nil) {
            self.value = value
            self.label = label
            self.from = from
            self.to = to
        }
    }

    /// How an axis is laid out.
    public enum Scale: Sendable {
        case linear
        /// The percentile axis of HdrHistogram plots: x is 1/(1-p), drawn logarithmically, so
        /// 90 %, 99 %, 99.9 % are equally spaced.
        case percentile
    }

    static let width = 960.0, height = 300.0
    static let left = 64.0, right = 16.0, top = 14.0, bottom = 34.0

    /// A line chart over time (x in seconds) or over percentiles; `yFormat` labels the y axis
    /// and the hover text. Each x position has a hover target listing every line's value there.
    /// `logarithmicY` draws the y axis by decades (latencies from 100 µs to 2 s on one chart);
    /// points further apart on x than `maxGap` are not joined (seconds with nothing measured).
    public static func lines(_ lines: [Line], xScale: Scale = .linear, xFormat: (Double) -> String, yFormat: (Double) -> String,
                             bands: [Band] = [], yMinimum: Double = 0, logarithmicY: Bool = false, maxGap: Double? = nil,
                             limits: [Limit] = []) -> String {
        let all = lines.flatMap(\.points)
        guard !all.isEmpty else { return "<p class=\"empty\">nothing measured</p>" }
        func xValue(_ x: Double) -> Double { xScale == .percentile ? percentileX(x) : x }
        let xs = all.map { xValue($0.x) }
        let xMin = xScale == .percentile ? 0 : Swift.min(xs.min()!, bands.map(\.start).min() ?? .infinity)
        var xMax = Swift.max(xs.max()!, bands.map(\.end).max() ?? -.infinity)
        if xMax <= xMin { xMax = xMin + 1 }
        // A limit widens the y axis when that keeps the data readable: on a log axis always (it
        // costs a decade or two), on a linear one up to twice the data's top.
        let dataTop = all.map(\.y).max()!
        let shown = limits.filter { $0.value > 0 && (logarithmicY || $0.value <= 2 * Swift.max(dataTop, yMinimum)) }
        let yTicks = logarithmicY ? decadeTicks(all.map(\.y) + shown.map(\.value))
                                  : niceTicks(maximum: Swift.max(dataTop, yMinimum, shown.map(\.value).max() ?? 0))
        let yLow = yTicks.first!, yMax = yTicks.last!
        let plotW = width - left - right, plotH = height - top - bottom
        func px(_ x: Double) -> Double { left + (xValue(x) - xMin) / (xMax - xMin) * plotW }
        func pxRaw(_ v: Double) -> Double { left + (v - xMin) / (xMax - xMin) * plotW }
        func py(_ y: Double) -> Double {
            if logarithmicY {
                let span = log10(yMax) - log10(yLow)
                return top + plotH - (span > 0 ? (log10(Swift.max(y, yLow)) - log10(yLow)) / span : 0) * plotH
            }
            return top + plotH - (yMax > 0 ? y / yMax : 0) * plotH
        }

        var svg = "<svg class=\"chart\" viewBox=\"0 0 \(n(width)) \(n(height))\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\">"
        for (i, band) in bands.enumerated() {
            let x0 = pxRaw(Swift.max(band.start, xMin)), x1 = pxRaw(Swift.min(band.end, xMax))
            guard x1 > x0 else { continue }
            svg += "<rect x=\"\(n(x0))\" y=\"\(n(top))\" width=\"\(n(x1 - x0))\" height=\"\(n(plotH))\" class=\"band\(i % 2)\"/>"
            svg += "<text x=\"\(n(x0 + 4))\" y=\"\(n(top + 12))\" class=\"bandlabel\">\(Markup.escape(band.label))</text>"
        }
        for t in yTicks {
            let y = py(t)
            svg += "<line x1=\"\(n(left))\" x2=\"\(n(width - right))\" y1=\"\(n(y))\" y2=\"\(n(y))\" class=\"grid\"/>"
            svg += "<text x=\"\(n(left - 6))\" y=\"\(n(y + 4))\" class=\"ylabel\">\(Markup.escape(yFormat(t)))</text>"
        }
        for t in xScale == .percentile ? percentileTicks(upTo: xMax) : niceTicks(minimum: xMin, maximum: xMax, count: 10) {
            let x = xScale == .percentile ? pxRaw(percentileX(t)) : pxRaw(t)
            svg += "<line x1=\"\(n(x))\" x2=\"\(n(x))\" y1=\"\(n(top + plotH))\" y2=\"\(n(top + plotH + 4))\" class=\"axis\"/>"
            svg += "<text x=\"\(n(x))\" y=\"\(n(top + plotH + 18))\" class=\"xlabel\">\(Markup.escape(xFormat(t)))</text>"
        }
        svg += "<line x1=\"\(n(left))\" x2=\"\(n(width - right))\" y1=\"\(n(top + plotH))\" y2=\"\(n(top + plotH))\" class=\"axis\"/>"
        for limit in shown where limit.value <= yMax {
            let x0 = pxRaw(Swift.max(limit.from ?? xMin, xMin)), x1 = pxRaw(Swift.min(limit.to ?? xMax, xMax))
            guard x1 > x0 else { continue }
            let y = py(limit.value)
            svg += "<line x1=\"\(n(x0))\" x2=\"\(n(x1))\" y1=\"\(n(y))\" y2=\"\(n(y))\" class=\"limit\"/>"
            svg += "<text x=\"\(n(x1 - 4))\" y=\"\(n(y - 4))\" class=\"limitlabel\">\(Markup.escape(limit.label))</text>"
        }
        for line in lines where !line.points.isEmpty {
            var path = ""
            for (i, p) in line.points.enumerated() {
                let joined = i > 0 && (maxGap.map { p.x - line.points[i - 1].x <= $0 + 1e-9 } ?? true)
                let isolated = !joined && (i == line.points.count - 1 || (maxGap.map { line.points[i + 1].x - p.x > $0 + 1e-9 } ?? false))
                path += "\(joined ? "L" : "M")\(n(px(p.x))),\(n(py(p.y)))"
                if isolated { svg += "<circle cx=\"\(n(px(p.x)))\" cy=\"\(n(py(p.y)))\" r=\"2.5\" fill=\"\(line.color)\"/>" }
            }
            svg += "<path d=\"\(path)\" fill=\"none\" stroke=\"\(line.color)\" stroke-width=\"1.8\"\(line.dashed ? " stroke-dasharray=\"5 4\"" : "") stroke-linejoin=\"round\"/>"
        }
        // Hover targets: one column per distinct x (every k-th on long runs, at most ~1000, so
        // a one-hour run stays a small file), naming every line's value there.
        let distinct = Array(Set(all.map(\.x))).sorted()
        let every = Swift.max(1, (distinct.count + 999) / 1000)
        let columns = stride(from: 0, to: distinct.count, by: every).map { distinct[$0] }
        let values = lines.map { line in Dictionary(line.points.map { ($0.x, $0.y) }, uniquingKeysWith: { first, _ in first }) }
        for (i, x) in columns.enumerated() {
            let x0 = i == 0 ? px(x) : (px(columns[i - 1]) + px(x)) / 2
            let x1 = i == columns.count - 1 ? px(x) : (px(x) + px(columns[i + 1])) / 2
            var tip = xFormat(x)
            for (line, byX) in zip(lines, values) { if let y = byX[x] { tip += "\n\(line.name): \(yFormat(y))" } }
            svg += "<rect x=\"\(n(x0))\" y=\"\(n(top))\" width=\"\(n(Swift.max(x1 - x0, 1)))\" height=\"\(n(plotH))\" class=\"hover\"><title>\(Markup.escape(tip))</title></rect>"
        }
        svg += "</svg>"
        let legend = lines.map { "<span><i style=\"background:\($0.color)\"></i>\(Markup.escape($0.name))</span>" }.joined()
        return svg + "<div class=\"legend\">\(legend)</div>"
    }

    /// Horizontal bars, one per labelled value (barrier spreads).
    public static func bars(_ items: [(label: String, value: Double, color: String)], format: (Double) -> String) -> String {
        guard !items.isEmpty else { return "<p class=\"empty\">nothing measured</p>" }
        let rowH = 22.0, labelW = 180.0, valueW = 90.0
        let h = Double(items.count) * rowH + 8
        let maxV = Swift.max(items.map(\.value).max() ?? 1, 1e-9)
        var svg = "<svg class=\"chart\" viewBox=\"0 0 \(n(width)) \(n(h))\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\">"
        for (i, item) in items.enumerated() {
            let y = 4 + Double(i) * rowH
            let w = Swift.max(1, item.value / maxV * (width - labelW - valueW))
            svg += "<text x=\"\(n(labelW - 8))\" y=\"\(n(y + 15))\" class=\"ylabel\">\(Markup.escape(item.label))</text>"
            svg += "<rect x=\"\(n(labelW))\" y=\"\(n(y + 3))\" width=\"\(n(w))\" height=\"\(n(rowH - 7))\" rx=\"2\" fill=\"\(item.color)\"><title>\(Markup.escape("\(item.label): \(format(item.value))"))</title></rect>"
            svg += "<text x=\"\(n(labelW + w + 6))\" y=\"\(n(y + 15))\" class=\"barvalue\">\(Markup.escape(format(item.value)))</text>"
        }
        return svg + "</svg>"
    }

    /// Vertical columns with labels under them (a latency histogram); `tip` is each column's hover text.
    public static func columns(_ items: [(label: String, value: Double, color: String, tip: String)], yFormat: (Double) -> String) -> String {
        guard !items.isEmpty else { return "<p class=\"empty\">nothing measured</p>" }
        let plotW = width - left - right, plotH = height - top - bottom
        let yTicks = niceTicks(maximum: Swift.max(items.map(\.value).max() ?? 1, 1))
        let yMax = yTicks.last!
        let slot = plotW / Double(items.count)
        var svg = "<svg class=\"chart\" viewBox=\"0 0 \(n(width)) \(n(height))\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\">"
        for t in yTicks {
            let y = top + plotH - t / yMax * plotH
            svg += "<line x1=\"\(n(left))\" x2=\"\(n(width - right))\" y1=\"\(n(y))\" y2=\"\(n(y))\" class=\"grid\"/>"
            svg += "<text x=\"\(n(left - 6))\" y=\"\(n(y + 4))\" class=\"ylabel\">\(Markup.escape(yFormat(t)))</text>"
        }
        let labelEvery = Swift.max(1, Int((Double(items.count) * 64 / plotW).rounded(.up)))
        for (i, item) in items.enumerated() {
            let h = item.value > 0 ? Swift.max(item.value / yMax * plotH, 2) : 0
            let x = left + Double(i) * slot
            svg += "<rect x=\"\(n(x + slot * 0.12))\" y=\"\(n(top + plotH - h))\" width=\"\(n(slot * 0.76))\" height=\"\(n(h))\" rx=\"1.5\" fill=\"\(item.color)\"><title>\(Markup.escape(item.tip))</title></rect>"
            if item.value > 0 && slot >= 36 {
                svg += "<text x=\"\(n(x + slot / 2))\" y=\"\(n(top + plotH - h - 4))\" class=\"xlabel barvalue\">\(Markup.escape(yFormat(item.value)))</text>"
            }
            if i % labelEvery == 0 {
                svg += "<text x=\"\(n(x + slot / 2))\" y=\"\(n(top + plotH + 18))\" class=\"xlabel\">\(Markup.escape(item.label))</text>"
            }
        }
        svg += "<line x1=\"\(n(left))\" x2=\"\(n(width - right))\" y1=\"\(n(top + plotH))\" y2=\"\(n(top + plotH))\" class=\"axis\"/>"
        return svg + "</svg>"
    }

    /// log10(1 / (1 - p/100)), capped at 99.9999 %.
    static func percentileX(_ p: Double) -> Double {
        let fraction = Swift.min(p, 99.9999) / 100
        return log10(1 / (1 - fraction))
    }

    static func percentileTicks(upTo xMax: Double) -> [Double] {
        [0, 90, 99, 99.9, 99.99, 99.999, 99.9999].filter { percentileX($0) <= xMax + 1e-9 }
    }

    /// Powers of ten from below the smallest positive value to above the largest, with 2 and 5
    /// between them when there are few decades.
    static func decadeTicks(_ values: [Double]) -> [Double] {
        let positive = values.filter { $0 > 0 }
        guard let low = positive.min(), let high = positive.max() else { return [1, 10] }
        let first = floor(log10(low)), last = Swift.max(first + 1, (log10(high) - 1e-9).rounded(.up))
        var ticks: [Double] = []
        var e = first
        while e <= last {
            let decade = pow(10, e)
            ticks.append(decade)
            if last - first <= 3 && e < last { ticks += [2 * decade, 5 * decade] }
            e += 1
        }
        return ticks
    }

    /// True when values this far apart read better on a logarithmic axis.
    public static func wantsLogarithmicScale(_ values: [Double]) -> Bool {
        let positive = values.filter { $0 > 0 }
        guard let low = positive.min(), let high = positive.max() else { return false }
        return high / low > 50
    }

    /// Round tick values from 0 (or `minimum`) to at least `maximum`.
    static func niceTicks(minimum: Double = 0, maximum: Double, count: Int = 5) -> [Double] {
        let span = maximum - minimum
        guard span > 0, span.isFinite else { return [minimum, minimum + 1] }
        let raw = span / Double(count)
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        var ticks: [Double] = []
        var t = (minimum / step).rounded(.down) * step
        // Bounded: far from zero, adding a small step may not change t at all.
        for _ in 0..<(count * 3 + 2) where t < maximum + step * 0.999 {
            if t >= minimum - 1e-9 { ticks.append(t) }
            t += step
        }
        return ticks.count >= 2 ? ticks : [minimum, minimum + step]
    }

    /// A coordinate with at most one decimal.
    static func n(_ v: Double) -> String {
        guard v.isFinite, abs(v) < 1e15 else { return "0" }
        let r = (v * 10).rounded() / 10
        return r == r.rounded() ? String(Int64(r)) : String(r)
    }
}
