import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Locations of the repository and of the shared reference tools, for tests and benchmarks.
public enum Repository {
    /// The package root (the directory holding Package.swift), found from this file's path.
    public static let root: String = {
        var path = #filePath
        for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }
        return path
    }()

    /// `../shared/tools` beside the repository, or `$VOLLEY_SHARED_TOOLS`.
    public static var sharedTools: String {
        if let custom = getenv("VOLLEY_SHARED_TOOLS") { return String(cString: custom) }
        return root + "/../shared/tools"
    }

    /// True when `VOLLEY_REQUIRE_REFERENCES=1`: tests that need an external reference must run
    /// (and fail if it is missing) instead of being skipped. The README's test command sets it.
    public static var referencesRequired: Bool {
        guard let v = getenv("VOLLEY_REQUIRE_REFERENCES") else { return false }
        return String(cString: v) == "1"
    }

    /// True when a file exists at `path`.
    public static func fileExists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// The whole content of a text file, or nil.
    public static func readText(_ path: String) -> String? {
        FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
    }
}
