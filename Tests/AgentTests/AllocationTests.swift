import Testing
@testable import Agent
import CAllocationCounter
import Net
import TestSupport
import WebSocket

/// The steady-state path of a virtual user allocates nothing per message: one frame in (read
/// into the loop's buffer, parsed and matched in place), one latency recorded, one frame out
/// (built in the loop's scratch space). Counted on the loop's thread by the test binary's
/// malloc counter, as SwiftNIO's allocation tests count.
@Suite("Allocations on the hot path")
struct AllocationTests {
    @Test("a closed-loop echo user: zero allocations per round trip in the steady state")
    func echoRoundTrip() throws {
        let h = try UserHarness("""
        target: ws://127.0.0.1:9/
        phases: [{ duration: 1h, connections: 1 }]
        steps:
          - connect
          - loop:
              - send: '{"type":"ping","n":1}'
              - expect: { json: { type: ping }, within: 10s, measure: rtt }
        """)
        h.acceptAll()
        let peer = h.peers[0]
        let reply = RawServerPeer.frame(.text, Array(#"{"type":"ping","n":1}"#.utf8))
        func roundTrips(_ n: Int) -> Int {
            var done = 0
            for _ in 0..<n {
                guard peer.nextFrame() != nil else { break }
                peer.write(reply)
                h.embedded.loop.runOnce(maximumWait: 0)
                done += 1
            }
            return done
        }
        #expect(roundTrips(200) == 200)              // warm-up: buffers, extras, dictionaries
        let before = volley_allocations_on_this_thread()
        let measured = roundTrips(2000)
        let allocations = volley_allocations_on_this_thread() - before
        #expect(measured == 2000)
        #expect(allocations == 0, "\(allocations) allocations in \(measured) round trips")
        let rtt = h.interval().histograms["rtt"]
        #expect(rtt?.totalCount == 2200)
    }

    @Test("the interval hand-off allocates nothing on the loop: the swap is a pointer exchange")
    func intervalSwap() throws {
        let h = try UserHarness("""
        target: ws://127.0.0.1:9/
        phases: [{ duration: 1h, connections: 1 }]
        steps: [connect, { sleep: 1h }]
        """)
        h.acceptAll()
        final class Count: @unchecked Sendable { var n = 0 }
        let notices = Count()
        let notice: @Sendable () -> Void = { notices.n += 1 }
        let control = try EventLoop()
        func handOff() {
            h.driver.metrics.add(.messagesSent)
            h.driver.swapMetrics(notice: notice, controlLoop: control)   // on the load loop
            control.runOnce(maximumWait: 0)                               // the control loop hears of it
        }
        for _ in 0..<10 { handOff() }                                     // warm-up: the inboxes' capacity
        let before = volley_allocations_on_this_thread()
        for _ in 0..<1000 { handOff() }
        #expect(volley_allocations_on_this_thread() - before == 0)
        #expect(notices.n == 1010)
    }
}
