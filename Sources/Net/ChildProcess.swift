import CVolleyLinux
#if canImport(Glibc)
import Glibc
#endif

/// A process this one started (a target worker, a local agent, curl). The child starts with no
/// blocked signals, whatever this process blocked for its signal descriptors.
public final class ChildProcess: @unchecked Sendable {
    public let pid: Int32
    private var exited: Int32?

    /// Starts `path` with `arguments` (the first is the program's name as it sees it).
    /// `inherit` hands one of this process's descriptors to the child as descriptor `as`;
    /// `quietOutput` sends the child's standard output to /dev/null.
    public init(path: String, arguments: [String], inherit: (fd: Int32, as: Int32)? = nil, quietOutput: Bool = false) throws(FileSystemError) {
        var cArgs: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        let pid: Int32
        if let inherit {
            pid = volley_spawn(path, &cArgs, inherit.fd, inherit.as)
        } else {
            pid = volley_spawn_quiet(path, &cArgs, quietOutput ? 1 : 0)
        }
        guard pid > 0 else { throw FileSystemError("cannot start \(path): \(FileSystem.lastError)") }
        self.pid = pid
    }

    /// Sends `signal` to the child.
    public func signal(_ signal: Int32) { _ = volley_kill(pid, signal) }

    /// SIGTERM, then up to `timeout` seconds for it to exit, then SIGKILL.
    public func terminate(timeout: Double = 5) {
        guard exited == nil else { return }
        signal(SIGTERM)
        let deadline = Instant.now.advanced(by: Nanoseconds.fromSeconds(timeout))
        while Instant.now < deadline {
            if poll() != nil { return }
            usleep(10_000)
        }
        signal(SIGKILL)
        _ = wait()
    }

    /// True while the process has not exited.
    public var isRunning: Bool { poll() == nil }

    /// The exit status if the child has exited (128 + signal when killed), without waiting.
    public func poll() -> Int32? {
        if let exited { return exited }
        var raw: Int32 = 0
        guard waitpid(pid, &raw, WNOHANG) == pid else { return nil }
        exited = Self.status(raw)
        return exited
    }

    /// Waits for the child to exit; its exit status.
    public func wait() -> Int32 {
        if let exited { return exited }
        var raw: Int32 = 0
        while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
        exited = Self.status(raw)
        return exited!
    }

    /// Any child that exited, without waiting: its pid and exit status (nil when none).
    public static func reapAny() -> (pid: Int32, status: Int32)? {
        var status: Int32 = 0
        let pid = volley_reap_child(&status)
        return pid > 0 ? (pid, status) : nil
    }

    /// Sends `signal` to process `pid`.
    public static func signal(_ pid: Int32, _ signal: Int32) { _ = volley_kill(pid, signal) }

    static func status(_ raw: Int32) -> Int32 {
        if raw & 0x7f == 0 { return (raw >> 8) & 0xff }
        return 128 + (raw & 0x7f)
    }
}

/// A pipe whose read end this process keeps (to collect a child's output).
public struct OutputPipe {
    public let readFD: Int32
    public let writeFD: Int32

    public init() throws(FileSystemError) {
        var fds: [Int32] = [0, 0]
        guard volley_pipe_cloexec(&fds) == 0 else { throw FileSystemError("cannot create a pipe: \(FileSystem.lastError)") }
        readFD = fds[0]
        writeFD = fds[1]
    }

    /// Closes the write end (after the child has it), then reads to end of file and closes.
    public func readAll() -> [UInt8] {
        Glibc.close(writeFD)
        defer { Glibc.close(readFD) }
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(readFD, &buffer, buffer.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            output += buffer[0..<n]
        }
        return output
    }
}
