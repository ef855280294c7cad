/// Writes HdrHistogram interval logs (`.hlog`, log format 1.3), one line per interval and metric,
/// readable by HdrHistogram's HistogramLogReader, HistogramLogProcessor and `hdr_check.py decode`.
public struct HistogramLogWriter: Sendable {
    /// Seconds since the Unix epoch at which the logged run started.
    public let startTime: Double
    /// Divides the maximum value for the human-readable Interval_Max column (1000: µs shown as ms).
    public let maxValueUnitRatio: Double
    /// The log text so far.
    public private(set) var text: String

    /// Starts a log with its header lines.
    public init(startTime: Double, maxValueUnitRatio: Double = 1000, comment: String? = nil) {
        self.startTime = startTime
        self.maxValueUnitRatio = maxValueUnitRatio
        text = ""
        if let comment {
            for line in comment.split(separator: "\n", omittingEmptySubsequences: false) { text += "#\(line)\n" }
        }
        text += "#[Histogram log format version 1.3]\n"
        text += "#[StartTime: \(Self.fixed3(startTime)) (seconds since epoch), \(CivilTime.iso8601(epochSeconds: startTime))]\n"
        text += "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n"
    }

    /// Appends one interval: its start (seconds since `startTime`), its length in seconds, and the
    /// histogram, tagged with `tag` (a metric name; commas and spaces are replaced by '_').
    public mutating func append(tag: String?, intervalStart: Double, intervalLength: Double, histogram: HDRHistogram) {
        if let tag {
            let clean = String(tag.map { $0 == "," || $0 == " " || $0 == "\n" ? "_" : $0 })
            text += "Tag=\(clean),"
        }
        text += "\(Self.fixed3(intervalStart)),\(Self.fixed3(intervalLength)),"
        text += "\(Self.fixed3(Double(histogram.max) / maxValueUnitRatio)),\(histogram.encodeV2Base64())\n"
    }

    /// Formats with exactly three decimals (the log format's "%.3f"), without Foundation.
    static func fixed3(_ value: Double) -> String {
        let negative = value < 0
        let milli = Int64((abs(value) * 1000).rounded())
        let whole = milli / 1000
        let frac = milli % 1000
        let fracText = frac < 10 ? "00\(frac)" : frac < 100 ? "0\(frac)" : "\(frac)"
        return "\(negative && milli != 0 ? "-" : "")\(whole).\(fracText)"
    }
}

/// Calendar arithmetic for UTC timestamps (proleptic Gregorian), so logs need no Foundation.
public enum CivilTime {
    /// "YYYY-MM-DDTHH:MM:SS.mmmZ" for seconds since the Unix epoch.
    public static func iso8601(epochSeconds: Double) -> String {
        let totalMillis = Int64((epochSeconds * 1000).rounded(.down))
        let days = floorDiv(totalMillis, 86_400_000)
        let millisOfDay = totalMillis - days * 86_400_000
        let (y, m, d) = civilFromDays(days)
        let h = millisOfDay / 3_600_000
        let mi = millisOfDay / 60_000 % 60
        let s = millisOfDay / 1000 % 60
        let ms = millisOfDay % 1000
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(h, 2)):\(pad(mi, 2)):\(pad(s, 2)).\(pad(ms, 3))Z"
    }

    /// Year, month, day of a count of days since 1970-01-01 (Howard Hinnant's algorithm).
    static func civilFromDays(_ z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = floorDiv(z, 146_097)
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    private static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        a >= 0 ? a / b : (a - b + 1) / b
    }

    private static func pad(_ v: Int64, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}
