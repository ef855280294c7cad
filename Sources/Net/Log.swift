#if canImport(Glibc)
import Glibc
#endif

/// Diagnostics on standard error (standard output is for results).
public enum Log {
    /// Writes one line to standard output, unbuffered (so it interleaves correctly with child processes).
    public static func out(_ message: String) {
        var line = message + "\n"
        line.withUTF8 { _ = write(1, $0.baseAddress, $0.count) }
    }

    /// Writes one line to standard error.
    public static func error(_ message: String) {
        var line = message + "\n"
        line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    }
}
