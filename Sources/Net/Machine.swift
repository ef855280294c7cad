import CVolleyLinux
#if canImport(Glibc)
import Glibc
#endif

/// Facts about this machine and this process that agents report and the planner weighs.
public enum Machine {
    /// Cores this process may run on.
    public static var cpuCount: Int { Int(volley_cpu_count()) }

    /// Physical memory in bytes.
    public static var physicalMemory: UInt64 { UInt64(clamping: volley_physical_memory()) }

    /// Raises the soft descriptor limit to the hard limit; returns the limit now in force.
    @discardableResult
    public static func raiseDescriptorLimit() -> Int { Int(volley_raise_fd_limit()) }

    /// This machine's host name.
    public static var hostName: String {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count - 1)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// What this process uses: read once per interval for the agents' resource reports.
public enum ProcessUsage {
    /// Resident memory in bytes (0 when /proc cannot be read).
    public static var residentBytes: Int64 { Int64(Swift.max(0, volley_resident_bytes())) }

    /// CPU time (user + system) of the whole process, in nanoseconds.
    public static var cpuNanoseconds: Int64 { volley_process_cpu_ns() }
}

/// The terminal, when there is one.
public enum Terminal {
    /// True when standard output is a terminal (progress refreshes one line in place).
    public static var standardOutputIsTerminal: Bool { isatty(1) != 0 }
}
