import Foundation
import Testing
import Stats
import TestSupport

/// One reference vector made by `Fixtures/generate.sh` with the Python HdrHistogram.
struct ReferenceVector: Sendable, CustomTestStringConvertible {
    let name: String
    let configuration: HistogramConfiguration
    let values: [Int64]
    let encoded: String
    let totalCount: Int64
    let min: Int64
    let max: Int64
    let mean: Double
    let standardDeviation: Double
    let nonZeroBuckets: Int
    let percentilesHalfUp: [Double: Int64]
    let percentilesCeiling: [Double: Int64]

    var testDescription: String { name }

    static let names = ["default-s1", "default-s2", "odd-7", "odd-13", "single", "sig2-narrow",
                        "sig5", "sig1", "nanos", "heavy-tail"]

    static let fixturesDirectory = Repository.root + "/Tests/StatsTests/Fixtures"

    static func load(_ name: String) throws -> ReferenceVector {
        let json = try Data(contentsOf: URL(fileURLWithPath: "\(fixturesDirectory)/\(name).json"))
        let root = try JSONSerialization.jsonObject(with: json) as! [String: Any]
        let stats = root["stats"] as! [String: Any]
        let valuesText = try String(contentsOfFile: "\(fixturesDirectory)/\(name).values", encoding: .utf8)
        func pcts(_ key: String) -> [Double: Int64] {
            var out: [Double: Int64] = [:]
            for (k, v) in stats[key] as! [String: Any] { out[Double(k)!] = (v as! NSNumber).int64Value }
            return out
        }
        return ReferenceVector(
            name: name,
            configuration: try HistogramConfiguration(
                lowestDiscernibleValue: (root["lowest"] as! NSNumber).int64Value,
                highestTrackableValue: (root["highest"] as! NSNumber).int64Value,
                significantFigures: (root["significant_figures"] as! NSNumber).intValue),
            values: valuesText.split(separator: "\n").map { Int64($0)! },
            encoded: root["encoded"] as! String,
            totalCount: (stats["total_count"] as! NSNumber).int64Value,
            min: (stats["min"] as! NSNumber).int64Value,
            max: (stats["max"] as! NSNumber).int64Value,
            mean: (stats["mean"] as! NSNumber).doubleValue,
            standardDeviation: (stats["stddev"] as! NSNumber).doubleValue,
            nonZeroBuckets: (stats["nonzero_buckets"] as! NSNumber).intValue,
            percentilesHalfUp: pcts("percentiles"),
            percentilesCeiling: pcts("percentiles_java_ceil"))
    }
}

func approximatelyEqual(_ a: Double, _ b: Double, relative: Double = 1e-9) -> Bool {
    a == b || abs(a - b) <= relative * Swift.max(abs(a), abs(b))
}
