import Foundation
import Testing
import TestSupport

/// What the collision scenarios must show in their merged results, wherever they ran (loopback
/// agents or agents in network namespaces): every user released at every barrier generation by
/// every agent, nothing lost, and the completeness and convergence counts exact.
enum CollisionChecks {
    /// The barrier generations named `name`, in order.
    static func generations(_ r: RunResultsFile, _ name: String) -> [[String: Any]] {
        r.barriers.filter { $0["name"] as? String == name }
    }

    static func int(_ value: Any?) -> Int64? { (value as? NSNumber)?.int64Value }
    static func double(_ value: Any?) -> Double? { (value as? NSNumber)?.doubleValue }

    /// Each of `count` generations of `name` released `users` users on every agent, in time, with
    /// measured release and send spreads.
    static func barrier(_ r: RunResultsFile, _ name: String, count: Int, users: Int, agents: Int, sends: Bool,
                        sourceLocation: SourceLocation = #_sourceLocation) {
        let gens = generations(r, name)
        #expect(gens.count == count, "\(name): \(gens.count) generations", sourceLocation: sourceLocation)
        for (i, g) in gens.enumerated() {
            #expect(int(g["generation"]) == Int64(i), sourceLocation: sourceLocation)
            #expect(int(g["users"]) == Int64(users), "\(name) #\(i + 1): users", sourceLocation: sourceLocation)
            #expect(g["timed_out"] as? Bool == false, "\(name) #\(i + 1) timed out", sourceLocation: sourceLocation)
            #expect((g["agents"] as? [Any])?.count == agents, "\(name) #\(i + 1): agents", sourceLocation: sourceLocation)
            #expect(double(g["release_spread_us"]) != nil, sourceLocation: sourceLocation)
            if sends {
                #expect(double(g["send_spread_us"]) != nil, "\(name) #\(i + 1): no sends measured", sourceLocation: sourceLocation)
                #expect((double(g["total_send_cost_us"]) ?? 0) > 0, sourceLocation: sourceLocation)
            }
        }
    }

    /// scenarios/collision-echo.yaml with `users` users: three bursts, every echo back.
    static func collisionEcho(_ r: RunResultsFile, users: Int, agents: Int) {
        let n = Int64(users)
        #expect(r.counter("connections.attempted") == n)
        #expect(r.counter("connections.opened") == n)
        #expect(r.counter("messages.sent") == 3 * n)
        #expect(r.counter("messages.received") == 3 * n)
        #expect(CollisionChecks.int(r.histogram("burst_rtt", "count")) == 3 * n)
        // Every burst's sends were prepared and went out at the release.
        #expect(CollisionChecks.int(r.histogram("barrier_send", "count")) == 3 * n)
        #expect(r.errorCount == 0)
        barrier(r, "burst", count: 3, users: users, agents: agents, sends: true)
    }

    /// scenarios/reconnect-race.yaml: every user drops and reconnects at once, twice.
    static func reconnectRace(_ r: RunResultsFile, users: Int, agents: Int) {
        let n = Int64(users)
        // Exactly one connection per user and reconnect: no user was replaced or restarted.
        #expect(r.counter("connections.attempted") == 3 * n)
        #expect(r.counter("connections.opened") == 3 * n)
        #expect(CollisionChecks.int(r.histogram("after_reconnect", "count")) == 2 * n)
        #expect(r.errorCount == 0)
        barrier(r, "drop", count: 2, users: users, agents: agents, sends: false)
    }

    /// scenarios/broadcast-order.yaml: every user's message reaches every user once; receivers
    /// agree on one order.
    static func broadcastOrder(_ r: RunResultsFile, users: Int, agents: Int, orderingPoints: Int = 1) {
        let n = Int64(users)
        #expect(r.counter("messages.sent") == n)
        #expect(r.counter("delivery.received") == n * n)
        #expect(r.counter("delivery.missing") == 0)
        #expect(r.counter("delivery.duplicated") == 0)
        #expect(r.errorCount == 0)
        let order = r.order
        #expect(int(order?["receivers"]) == n)
        if orderingPoints == 1 {
            // One ordering point (a one-worker target): every receiver saw the same order.
            #expect(int(order?["distinct_orders"]) == 1)
            #expect(int(order?["divergent_receivers"]) == 0)
        } else {
            // Each target worker orders the room for its own receivers.
            #expect((int(order?["distinct_orders"]) ?? 0) <= Int64(orderingPoints))
        }
        barrier(r, "all-in", count: 1, users: users, agents: agents, sends: true)
    }

    /// scenarios/state-convergence.yaml: every client reads the total of all increments.
    static func stateConvergence(_ r: RunResultsFile, users: Int, agents: Int) {
        let n = Int64(users)
        #expect(CollisionChecks.int(r.histogram("converged", "count")) == n)
        #expect(r.counter("messages.sent") == 2 * n)
        #expect(r.errorCount == 0)
        barrier(r, "ready", count: 1, users: users, agents: agents, sends: true)
        barrier(r, "incremented", count: 1, users: users, agents: agents, sends: false)
    }

    /// scenarios/private-collision.yaml: each user gets exactly its partner's message.
    static func privateCollision(_ r: RunResultsFile, users: Int, agents: Int) {
        #expect(CollisionChecks.int(r.histogram("private_delivery", "count")) == Int64(users))
        #expect(r.counter("errors.isolation_violation") == 0)
        #expect(r.errorCount == 0)
        barrier(r, "all-connected", count: 1, users: users, agents: agents, sends: true)
        barrier(r, "all-received", count: 1, users: users, agents: agents, sends: false)
    }
}
