import Testing
import Scenario
import TestSupport

/// "A malformed scenario gets an error with file, line and column": every bundled scenario,
/// damaged at random (characters deleted, inserted, lines duplicated or swapped), either still
/// loads or fails with a located error, and never crashes.
@Suite("Scenario fuzz")
struct ScenarioFuzzTests {
    static let names = ["demo", "chat", "rooms-broadcast", "private-isolation", "collision-echo", "reconnect-race",
                        "state-convergence", "spike", "echo-open"]

    static func damage(_ text: String, _ rng: inout SplitMix64) -> String {
        var chars = Array(text)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let noise: [Character] = [":", "{", "}", "[", "]", "-", "'", "\"", "#", " ", "\t", "\n", ",", "%", "<", "9", "x", "é", "|", "*", "&"].map { Character($0) }
        switch rng.next() % 6 {
        case 0 where !chars.isEmpty:
            chars.remove(at: Int(rng.next() % UInt64(chars.count)))
        case 1:
            chars.insert(noise[Int(rng.next() % UInt64(noise.count))], at: Int(rng.next() % UInt64(chars.count + 1)))
        case 2 where !chars.isEmpty:
            chars[Int(rng.next() % UInt64(chars.count))] = noise[Int(rng.next() % UInt64(noise.count))]
        case 3 where !lines.isEmpty:
            let i = Int(rng.next() % UInt64(lines.count))
            lines.insert(lines[i], at: i)
            return lines.joined(separator: "\n")
        case 4 where lines.count > 1:
            let i = Int(rng.next() % UInt64(lines.count - 1))
            lines.swapAt(i, i + 1)
            return lines.joined(separator: "\n")
        default:
            if !chars.isEmpty { chars.removeLast(Int(rng.next() % UInt64(Swift.min(chars.count, 40)))) }
        }
        return String(chars)
    }

    @Test("damaged scenarios load or fail with a located error")
    func damaged() throws {
        var rng = SplitMix64(seed: 1234)
        var failures = 0, loads = 0
        for name in Self.names {
            guard let text = ScenarioLoader.readFile(Repository.root + "/scenarios/\(name).yaml") else {
                Issue.record("cannot read \(name).yaml")
                continue
            }
            for _ in 0..<150 {
                var damaged = text
                for _ in 0..<Int(1 + rng.next() % 3) { damaged = Self.damage(damaged, &rng) }
                do {
                    _ = try ScenarioLoader.load(source: damaged, file: "\(name).yaml") { (_) throws(ScenarioError) -> Feeder? in
                        try Feeder.parse("user,partner\nu1,u2\nu2,u1\n", file: "users.csv")
                    }
                    loads += 1
                } catch {
                    failures += 1
                    let lineCount = damaged.split(separator: "\n", omittingEmptySubsequences: false).count
                    #expect(error.file == "\(name).yaml" || error.file == "users.csv")
                    #expect(error.line >= 1 && error.line <= lineCount + 1, "\(error)")
                    #expect(error.column >= 1, "\(error)")
                    #expect(!error.message.isEmpty)
                }
            }
        }
        #expect(failures > 200 && loads > 50)
    }
}
