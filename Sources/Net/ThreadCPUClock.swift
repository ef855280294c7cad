#if canImport(Glibc)
import Glibc
#endif

/// CPU time consumed by the calling thread: what a burst of work cost, without the time the
/// thread spent preempted or yielded.
public enum ThreadCPUClock {
    /// Nanoseconds of CPU the calling thread has used.
    public static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}
