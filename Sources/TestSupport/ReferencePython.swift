import Foundation

/// The Python with the reference HdrHistogram (`hdrhistogram` from PyPI), set up by
/// scripts/setup-test-deps.sh.
public enum ReferencePython {
    public static var path: String {
        ProcessInfo.processInfo.environment["VOLLEY_HDR_PYTHON"] ?? "/tmp/hdr-venv/bin/python"
    }
    public static var available: Bool { FileManager.default.isExecutableFile(atPath: path) }
    /// `hdr_check.py` from the shared tools.
    public static var checker: String { Repository.sharedTools + "/hdr_check.py" }
    /// Run the cross-checks when the reference is installed, and always when references are required.
    public static var shouldRun: Bool { available || Repository.referencesRequired }
}
