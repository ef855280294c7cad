import Testing
import Scenario

@Suite("User groups")
struct UserGroupTests {
    func load(_ text: String, feeders: [Feeder] = []) throws(ScenarioError) -> Scenario {
        try ScenarioLoader.load(source: text, file: "g.yaml") { (name) throws(ScenarioError) -> Feeder? in
            feeders.first { $0.file == name }
        }
    }

    static let room = """
    target: ws://h/room
    model: open
    phases:
      - { name: ramp, duration: 10s, connections: 0 -> 1000, rate: 1/s }
    groups:
      - name: publishers
        count: 5
        rate: 2/s
        feeder: pubs.csv
        steps:
          - connect
          - loop:
              - send: '{"from":"{{user.name}}","group":"{{group}}"}'
              - expect: { contains: from, within: 2s, measure: rtt }
      - name: viewers
        weight: 3
        think: 1s
        steps:
          - connect
          - send: hello
          - expect: { contains: from, within: 5s, measure: first }
      - name: lurkers
        steps: [connect]
    thresholds:
      - p99(rtt@publishers) < 100ms
      - "p99(first, group: viewers) < 1s"
      - p99(rtt) < 100ms
    """

    @Test("groups load with their shares, steps, feeder, rate and think; metrics are named per group")
    func loads() throws {
        let pubs = Feeder(file: "pubs.csv", columns: ["name"], rows: [["ann"], ["bo"]])
        let s = try load(Self.room, feeders: [pubs])
        #expect(s.groups.map(\.name) == ["publishers", "viewers", "lurkers"])
        #expect(s.groups.map(\.share) == [.count(5), .weight(3), .weight(1)])
        #expect(s.groups[0].rate == 2 && s.groups[0].feeder?.file == "pubs.csv" && s.groups[1].think == .fixed(1_000_000_000))
        #expect(s.steps.isEmpty && s.recordsPerGroup)
        #expect(s.measureNames == ["rtt", "first"])
        #expect(s.recordedMeasureNames == ["rtt@publishers", "first@viewers"])
        #expect(s.thresholds.map(\.quantity.metric) == ["rtt@publishers", "first@viewers", "rtt"])
        #expect(s.feeders.map(\.file) == ["pubs.csv"])
        // Fixed counts first, as far as the total goes; the rest 3:1 by weight.
        #expect(s.groupShares(3) == [3, 0, 0])
        #expect(s.groupShares(1000) == [5, 746, 249])
        #expect(s.groupShares(6) == [5, 1, 0])
    }

    @Test("{{group}} renders the user's group; without groups it is \"default\"")
    func groupPlaceholder() throws {
        let t = try Template("{{group}}-{{vu}}", file: "g.yaml", line: 1, column: 1, feederColumns: nil)
        var context = RenderContext(seed: 1)
        context.vu = 7
        #expect(t.renderString(&context) == "default-7")
        context.groupName = "viewers"
        #expect(t.renderString(&context) == "viewers-7")
        let plain = try load("target: ws://h/\nphases: [{ duration: 1s, connections: 2 }]\nsteps: [connect]\n")
        #expect(plain.groups.map(\.name) == ["default"] && !plain.recordsPerGroup)
        #expect(plain.groupShares(2) == [2])
    }

    static let base = "target: ws://h/\nphases:\n  - { name: p, duration: 1s, connections: 10 }\n"

    @Test("mistakes in groups are located", arguments: [
        (base + "steps: [connect]\ngroups:\n  - { name: a, steps: [connect] }\n", 4, 1, "with groups, each group has its own steps"),
        (base + "groups:\n  - { name: a, count: 2, weight: 1, steps: [connect] }\n", 5, 26, "a count (a fixed number of users) or a weight"),
        (base + "groups:\n  - { name: a, steps: [connect] }\n  - { name: a, steps: [connect] }\n", 6, 13, "a second group named \"a\""),
        (base + "groups:\n  - { name: 'a b', steps: [connect] }\n", 5, 13, "a group name is a letter"),
        (base + "groups:\n  - { name: a }\n", 5, 5, "needs steps"),
        (base + "groups:\n  - { steps: [connect] }\n", 5, 5, "needs a name"),
        (base + "groups:\n  - { name: a, count: 4, steps: [connect] }\n", 3, 1, "the groups' counts add up to 4"),
        (base + "groups:\n  - { name: a, steps: [{ send: x }] }\n", 5, 26, "send before connect"),
        (base + "groups:\n  - { name: a, stepz: [connect] }\n", 5, 16, "did you mean \"steps\"?"),
        (base + "groups:\n  - { name: a, rate: 1/s, steps: [connect] }\n", 5, 16, "rate paces sends in the open model"),
        (base + "groups:\n  - { name: a, steps: [connect, { send: x }, { expect: { contains: x, measure: rtt } }] }\n  - { name: b, steps: [connect] }\nthresholds:\n  - p99(rtt@c) < 1s\n", 8, 9, "no group named \"c\""),
        (base + "groups:\n  - { name: a, steps: [connect, { send: x }, { expect: { contains: x, measure: rtt } }] }\n  - { name: b, steps: [connect] }\nthresholds:\n  - p99(rtt@b) < 1s\n", 8, 9, "the group \"b\" does not record rtt"),
        (base + "steps: [connect, { send: x }, { expect: { contains: x, measure: rtt } }]\nthresholds:\n  - p99(rtt@a) < 1s\n", 6, 9, "only when the scenario has two or more groups"),
    ])
    func locatedErrors(text: String, line: Int, column: Int, message: String) {
        expectLocatedError(text, line: line, column: column, message: message) { (t) throws(ScenarioError) in try load(t) }
    }
}
