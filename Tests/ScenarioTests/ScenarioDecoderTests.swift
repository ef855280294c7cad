import Testing
@testable import Scenario

@Suite("Scenario files")
struct ScenarioDecoderTests {
    static let minimal = """
    name: t
    target: ws://127.0.0.1:8080/echo
    phases:
      - { name: p, duration: 10s, connections: 5 }
    steps:
      - connect
      - send: hi
      - expect: { contains: hi, measure: rtt }
    """

    func load(_ text: String, feeder: Feeder? = nil) throws(ScenarioError) -> Scenario {
        try ScenarioLoader.load(source: text, file: "s.yaml") { (_) throws(ScenarioError) -> Feeder? in feeder }
    }

    @Test("tls: and compression: load with their files and values; each mistake is located")
    func transportOptions() throws {
        let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
        func load(_ text: String) throws(ScenarioError) -> Scenario {
            try ScenarioLoader.load(source: text, file: "s.yaml", feeder: { (_) throws(ScenarioError) -> Feeder? in nil },
                                    files: { (name) throws(ScenarioError) -> String in
                                        if name == "missing.pem" {
                                            throw ScenarioError(file: "s.yaml", line: 1, column: 1, message: "cannot read missing.pem: No such file")
                                        }
                                        return name == "notes.txt" ? "just text" : pem
                                    })
        }
        let base = "target: wss://chat.example.com/ws\nphases:\n  - { duration: 1s, connections: 1 }\nsteps: [connect]\n"
        let s = try load(base + """
        tls: { ca: ca.pem, server_name: edge.example.com, client_cert: me.pem, client_key: me.key, session_reuse: false, min_version: "1.3" }
        compression: { deflate: true, client_no_context_takeover: true, server_max_window_bits: 10 }
        """)
        #expect(s.tls.ca == PEMFile(path: "ca.pem", contents: pem))
        #expect(s.tls.clientCertificate?.path == "me.pem" && s.tls.clientKey?.path == "me.key")
        #expect(s.tls.serverName == "edge.example.com" && !s.tls.sessionReuse && s.tls.minimumVersion == 13 && !s.tls.insecure)
        #expect(s.compression.deflate && s.compression.clientNoContextTakeover && !s.compression.serverNoContextTakeover)
        #expect(s.compression.serverMaxWindowBits == 10 && s.compression.clientMaxWindowBits == nil)
        let defaults = try load(base)
        #expect(defaults.tls == TLSOptions() && defaults.tls.sessionReuse && !defaults.compression.deflate)

        let mistakes: [(String, Int, Int, String)] = [
            ("tls: { ca: missing.pem }\n", 5, 12, "cannot read missing.pem"),
            ("tls: { ca: notes.txt }\n", 5, 12, "not a PEM file"),
            ("tls: { client_cert: me.pem }\n", 5, 6, "needs both client_cert and client_key"),
            ("tls: { insecure: true, ca: ca.pem }\n", 5, 8, "use one or the other"),
            ("tls: { min_version: 1.1 }\n", 5, 21, "1.2 or 1.3"),
            ("tls: { verify: false }\n", 5, 8, "unknown key \"verify\" in tls"),
            ("compression: { client_max_window_bits: 7, deflate: true }\n", 5, 40, "client_max_window_bits"),
            ("compression: { server_no_context_takeover: true }\n", 5, 14, "add \"deflate: true\""),
        ]
        for (extra, line, column, message) in mistakes {
            do {
                _ = try load(base + extra)
                Issue.record("expected an error for \(extra)")
            } catch {
                #expect(error.line == line && error.column == column && error.message.contains(message), "\(extra): \(error)")
            }
        }
    }

    @Test("a minimal scenario loads with its defaults")
    func minimalScenario() throws {
        let s = try load(Self.minimal)
        #expect(s.name == "t" && s.model == .closed && s.phases.count == 1 && s.steps.count == 3)
        #expect(s.duration == 10_000_000_000 && s.peakConnections == 5 && s.measureNames == ["rtt"])
    }

    @Test("every bundled scenario validates")
    func bundledScenarios() throws {
        let dir = TestPaths.scenarios
        let names = ["demo", "echo-closed", "echo-open", "ramp-up", "ramp-up-short", "spike", "spike-short", "soak",
                     "soak-short", "chat", "rooms-broadcast", "private-isolation", "counter-ordering", "collision-echo",
                     "reconnect-race", "broadcast-order", "state-convergence", "private-collision"]
        for name in names {
            let s = try ScenarioLoader.load(path: "\(dir)/\(name).yaml")
            #expect(!s.phases.isEmpty, "\(name)")
        }
    }

    @Test("the seed profiles are expressible exactly as specified")
    func seedProfiles() throws {
        let ramp = try ScenarioLoader.load(path: "\(TestPaths.scenarios)/ramp-up.yaml")
        #expect(ramp.phases[0].connections == ConnectionTarget(from: 10, to: 5000) && ramp.phases[0].duration == 300_000_000_000)
        #expect(ramp.phases[1].connections == .steady(5000) && ramp.phases[1].duration == 60_000_000_000)
        #expect(ramp.phases[0].rate == .perConnection(10))
        let spike = try ScenarioLoader.load(path: "\(TestPaths.scenarios)/spike.yaml")
        #expect(spike.phases.map(\.connections.to) == [100, 2000, 100] && spike.phases[1].duration == 30_000_000_000)
        let soak = try ScenarioLoader.load(path: "\(TestPaths.scenarios)/soak.yaml")
        #expect(soak.phases[0].connections == .steady(500) && soak.phases[0].duration == 3_600_000_000_000 && soak.phases[0].rate == .perConnection(5))
    }

    /// Each class of mistake, with where it must be reported and what the message must say.
    @Test("malformed scenarios give located errors", arguments: [
        // Unknown keys, with a suggestion.
        ("name: t\ntargt: ws://h/\n", 2, 1, "unknown key \"targt\" in the scenario; did you mean \"target\"?"),
        // Missing required parts.
        ("name: t\nphases: []\nsteps: [connect]\n", 1, 1, "no \"target\""),
        ("target: ws://h/\nphases:\n  - { duration: 1s, connections: 1 }\n", 1, 1, "no \"steps\""),
        ("target: ws://h/\nphases: []\nsteps: [connect]\n", 2, 9, "phases is empty"),
        // Wrong types and units.
        ("target: ws://h/\nphases:\n  - { duration: 10 seconds, connections: 1 }\nsteps: [connect]\n", 3, 17, "duration such as 500ms"),
        ("target: ws://h/\nphases:\n  - { duration: 1s, connections: lots }\nsteps: [connect]\n", 3, 34, "connections as a count"),
        ("target: ws://h/\nphases:\n  - { duration: 1s, connections: 1, rate: fast }\nsteps: [connect]\n", 3, 43, "rate as messages"),
        ("target: ws://h/\nphases:\n  - { duration: 1s, connections: 1, rate: 1/s, total_rate: 5/s }\nsteps: [connect]\n", 3, 48, "not both"),
        ("target: http://h/\nphases:\n  - { duration: 1s, connections: 1 }\nsteps: [connect]\n", 1, 9, "starting with ws://"),
        ("target: https://h/\nphases:\n  - { duration: 1s, connections: 1 }\nsteps: [connect]\n", 1, 9, "ws:// or wss://"),
        ("model: closd\ntarget: ws://h/\nphases:\n  - { duration: 1s, connections: 1 }\nsteps: [connect]\n", 1, 8, "unknown model"),
        // Steps.
        ("target: ws://h/\nphases:\n  - { duration: 1s, connections: 1 }\nsteps:\n  - conect\n", 5, 5, "did you mean \"connect\"?"),
        ("target: ws://h/\nphases:\n  - { duration: 1s, connections: 1 }\nsteps:\n  - send: hi\n", 5, 5, "send before connect"),
        ("target: ws://h/\nphases:\n  - { duration: 1s, connections: 1 }\nsteps:\n  - { connect: , send: x }\n", 5, 5, "a step is one keyword"),
        ("target: ws://h/\nphases:\n  - { duration: 1s, connections: 1 }\nsteps:\n  - connect\n  - expect: { contains: x, measure: rtt }\n", 6, 5, "nothing is sent before it"),
        ("target: ws://h/\nphases:\n  - { duration: 1s, connections: 1 }\nsteps:\n  - connect\n  - expect: { contans: x }\n", 6, 15, "unknown key \"contans\" in expect; did you mean \"contains\"?"),
        ("target: ws://h/\nphases:\n  - { duration: 1s, connections: 1 }\nsteps:\n  - connect\n  - expect: { regex: \"(\" }\n", 6, 22, "invalid regular expression"),
        ("target: ws://h/\nphases:\n  - { duration: 1s, connections: 1 }\nsteps:\n  - connect\n  - expect_none: { contains: x }\n", 6, 18, "needs \"for: DURATION\""),
        ("target: ws://h/\nphases:\n  - { duration: 1s, connections: 1 }\nsteps:\n  - connect\n  - connect\n", 6, 5, "already connected"),
        ("target: ws://h/\nphases:\n  - { duration: 1s, connections: 1 }\nsteps:\n  - loop:\n      - connect\n", 5, 5, "connects and never closes"),
        ("target: ws://h/\nphases:\n  - { duration: 1s, connections: 1 }\nsteps:\n  - connect\n  - barrier: { name: b, release: most }\n", 6, 34, "percentage"),
        // Connects expected to be refused.
        ("target: ws://h/\nphases:\n  - { duration: 1s, connections: 1 }\nsteps:\n  - connect: { expect_status: 101 }\n", 5, 31, "101 is the upgrade itself"),
        ("target: ws://h/\nphases:\n  - { duration: 1s, connections: 1 }\nsteps:\n  - connect: { expect: maybe }\n", 5, 24, "connect's expect is \"refused\""),
        ("target: ws://h/\nphases:\n  - { duration: 1s, connections: 1 }\nsteps:\n  - connect: { expect: refused }\n  - send: x\n", 6, 5, "send before connect"),
        // Templates.
        ("target: ws://h/\nphases:\n  - { duration: 1s, connections: 1 }\nsteps:\n  - connect\n  - send: '{{sq}}'\n", 6, 11, "unknown placeholder {{sq}} (did you mean {{seq}}?)"),
        ("target: ws://h/\nphases:\n  - { duration: 1s, connections: 1 }\nsteps:\n  - connect\n  - send: '{{user.token}}'\n", 6, 11, "needs a feeder"),
        ("target: ws://h/\nphases:\n  - { duration: 1s, connections: 1 }\nsteps:\n  - connect\n  - send: 'x {{seq'\n", 6, 11, "not closed"),
        // Open model without a rate.
        ("model: open\ntarget: ws://h/\nphases:\n  - { duration: 1s, connections: 1 }\nsteps:\n  - connect\n  - send: x\n", 4, 1, "needs a rate"),
        // Headers volley owns.
        ("target: ws://h/\nheaders: { Upgrade: x }\nphases:\n  - { duration: 1s, connections: 1 }\nsteps: [connect]\n", 2, 12, "cannot be overridden"),
        // YAML-level problems surface the same way.
        ("target: ws://h/\nphases:\n\t- x\n", 3, 1, "tab"),
    ])
    func locatedErrors(text: String, line: Int, column: Int, message: String) {
        do {
            _ = try load(text)
            Issue.record("expected an error for:\n\(text)")
        } catch {
            #expect(error.file == "s.yaml")
            #expect(error.line == line && error.column == column, "\(error)")
            #expect(error.message.contains(message), "\(error)")
        }
    }

    @Test("feeder columns are checked, with suggestions")
    func feederColumns() throws {
        let feeder = Feeder(file: "u.csv", columns: ["user", "token"], rows: [["a", "t1"]])
        let text = "target: \"ws://h/?u={{user.usr}}\"\nfeeder: u.csv\nphases:\n  - { duration: 1s, connections: 1 }\nsteps: [connect]\n"
        #expect(throws: ScenarioError.self) { try load(text, feeder: feeder) }
        do { _ = try load(text, feeder: feeder) } catch { #expect(error.message.contains("did you mean user.user?")) }
        let ok = try load(text.replacingOccurrences(of: "usr", with: "user"), feeder: feeder)
        #expect(ok.feeder?.rows.count == 1)
    }
}

enum TestPaths {
    static var scenarios: String {
        var path = #filePath
        for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }
        return path + "/scenarios"
    }
}
