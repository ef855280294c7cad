import CVolleyLinux
import Stats
#if canImport(Glibc)
import Glibc
#endif

/// Small file-system helpers for the commands (no Foundation in the binary).
enum Files {
    /// Writes `text` to `path`, creating parent directories.
    static func write(_ text: String, to path: String) throws(UsageError) {
        if let slash = path.lastIndex(of: "/") {
            let dir = String(path[..<slash])
            if !dir.isEmpty && volley_mkdirs(dir) != 0 {
                throw UsageError("cannot create directory \(dir): \(String(cString: strerror(errno)))")
            }
        }
        guard let f = fopen(path, "wb") else { throw UsageError("cannot write \(path): \(String(cString: strerror(errno)))") }
        defer { fclose(f) }
        var copy = text
        let ok = copy.withUTF8 { fwrite($0.baseAddress, 1, $0.count, f) == $0.count }
        if !ok { throw UsageError("cannot write \(path): \(String(cString: strerror(errno)))") }
    }

    /// A fresh random identifier (16 hex digits).
    static func randomID() -> String {
        var bytes = [UInt8](repeating: 0, count: 8)
        _ = volley_random_bytes(&bytes, 8)
        return bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    /// "20261122-051930" (UTC), for default output directories.
    static func timestamp(_ epochSeconds: Double) -> String {
        let iso = Array(CivilTime.iso8601(epochSeconds: epochSeconds))   // 2026-11-22T05:19:30.123Z
        let date = String(iso[0..<10]).filter { $0 != "-" }
        let time = String(iso[11..<19]).filter { $0 != ":" }
        return date + "-" + time
    }
}
