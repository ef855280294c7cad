import Glibc
import Net
import Synchronization

/// How precisely event loops act at a named instant (a run's start, a barrier release): the
/// timer's lateness and, with an early wake and a spin, the release's, for as many loops as
/// cores and for more loops than cores (agents sharing a host).
struct ReleaseBenchmark {
    struct Sample { var fired: Int64; var released: Int64 }

    func run() {
        let cores = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        print("release-precision benchmark (release build expected), \(cores) cores")
        for loops in [cores, 4 * cores] {
            for lead in [Nanoseconds.milliseconds(10), Nanoseconds.milliseconds(300)] {
                for early in [Int64(0), Nanoseconds.microseconds(200)] {
                    measure(loops: loops, lead: lead, early: early, rounds: lead > Nanoseconds.milliseconds(100) ? 8 : 40)
                }
            }
        }
    }

    /// `lead` from now; with VOLLEY_BENCH_ALIGN set, rounded up to a 100 ms boundary of the
    /// monotonic clock, so that several benchmark processes act at the same instants.
    static func instant(after lead: Int64) -> Instant {
        let instant = Instant.now.advanced(by: lead)
        guard getenv("VOLLEY_BENCH_ALIGN") != nil else { return instant }
        let grid = Nanoseconds.milliseconds(100)
        return Instant(nanoseconds: (instant.nanoseconds / grid + 1) * grid)
    }

    func measure(loops: Int, lead: Int64, early: Int64, rounds: Int) {
        let group: EventLoopGroup
        do { group = try EventLoopGroup(count: loops) } catch { print("  cannot create loops: \(error)"); return }
        group.start(preciseTimers: true)
        defer { group.stopAndJoin() }
        var lateness: [Int64] = [], spreads: [Int64] = []
        for _ in 0..<rounds {
            let samples = Mutex<[Sample]>([])
            let instant = Self.instant(after: lead)
            for loop in group.loops {
                loop.execute {
                    let wake = instant.advanced(by: -early)
                    loop.schedule(after: Swift.max(0, Instant.now.nanoseconds(to: wake))) {
                        let fired = Instant.now
                        while Instant.now < instant {}
                        let released = Instant.now
                        samples.withLock { $0.append(Sample(fired: wake.nanoseconds(to: fired), released: instant.nanoseconds(to: released))) }
                    }
                }
            }
            while samples.withLock({ $0.count }) < loops { usleep(1000) }
            let round = samples.withLock { $0 }
            lateness += round.map(\.released)
            spreads.append(round.map(\.released).max()! - round.map(\.released).min()!)
            usleep(20_000)
        }
        lateness.sort()
        spreads.sort()
        func us(_ ns: Int64) -> String { "\(ns / 1000) µs" }
        print("  \(loops) loops, instant \(lead / 1_000_000) ms ahead, \(early == 0 ? "timer only       " : "wake 200 µs early, spin"):"
              + " late p50 \(us(lateness[lateness.count / 2])) p99 \(us(lateness[lateness.count * 99 / 100]))"
              + "; spread between loops p50 \(us(spreads[spreads.count / 2])) max \(us(spreads.last!))")
    }
}
