import CVolleyLinux
#if canImport(Glibc)
import Glibc
#endif

/// A file-system operation that failed: what, where, and the system's reason.
public struct FileSystemError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Reading and writing whole files (volley links no Foundation).
public enum FileSystem {
    /// Writes `text` to `path`, creating parent directories.
    public static func write(_ text: String, to path: String) throws(FileSystemError) {
        if let slash = path.lastIndex(of: "/") {
            let directory = String(path[..<slash])
            if !directory.isEmpty { try makeDirectories(directory) }
        }
        guard let f = fopen(path, "wb") else { throw FileSystemError("cannot write \(path): \(lastError)") }
        defer { fclose(f) }
        var copy = text
        let ok = copy.withUTF8 { $0.isEmpty || fwrite($0.baseAddress, 1, $0.count, f) == $0.count }
        if !ok { throw FileSystemError("cannot write \(path): \(lastError)") }
    }

    /// The whole content of a text file, or nil when it cannot be read.
    public static func readText(_ path: String) -> String? {
        guard let f = fopen(path, "rb") else { return nil }
        defer { fclose(f) }
        var out = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&chunk, 1, chunk.count, f)
            if n <= 0 { break }
            out.append(contentsOf: chunk[0..<n])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Creates `path` and its parents (like mkdir -p).
    public static func makeDirectories(_ path: String) throws(FileSystemError) {
        if volley_mkdirs(path) != 0 { throw FileSystemError("cannot create directory \(path): \(lastError)") }
    }

    /// Sets a file's permission bits (e.g. 0o600 for a token).
    public static func setPermissions(_ path: String, _ mode: UInt32) {
        _ = chmod(path, mode_t(mode))
    }

    /// Removes a file; no error when it is already gone.
    public static func remove(_ path: String) { _ = unlink(path) }

    /// Removes an empty directory; no error when it is already gone.
    public static func removeDirectory(_ path: String) { _ = rmdir(path) }

    /// True when `path` exists and is readable.
    public static func isReadable(_ path: String) -> Bool { access(path, R_OK) == 0 }

    /// The absolute path of this program (for spawning workers and agents of the same binary).
    public static var executablePath: String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return CommandLine.arguments[0] }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The value of an environment variable.
    public static func environment(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }

    static var lastError: String { String(cString: strerror(errno)) }
}
