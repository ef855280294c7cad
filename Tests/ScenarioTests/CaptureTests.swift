import Testing
import Scenario

@Suite("Captures")
struct CaptureTests {
    func load(_ text: String) throws(ScenarioError) -> Scenario {
        try ScenarioLoader.load(source: text, file: "c.yaml") { (_) throws(ScenarioError) -> Feeder? in nil }
    }

    static let base = "target: ws://h/\nphases: [{ duration: 1s, connections: 1 }]\nsteps:\n  - connect\n  - send: hi\n"

    @Test("capture sources read JSON paths (strings unescaped, other values as written) and regex groups")
    func values() throws {
        let s = try load(Self.base + "  - expect: { contains: x, capture: { a: { json: r.id }, b: { json: n }, c: { regex: 'k=(\\d+)' }, d: { regex: 'z+' } } }\n  - send: '{{vars.a}}{{vars.b}}{{vars.c}}{{vars.d}}'\n")
        #expect(s.variables == ["a", "b", "c", "d"])
        guard case let .expect(e) = s.steps[2].kind else { Issue.record("not an expect"); return }
        let message = Array(#"{"r":{"id":"q\"1"},"n":42,"t":"k=77 zzz"}"#.utf8)
        let values = message.withUnsafeBytes { p in e.captures.map { $0.value(in: p) } }
        #expect(values == ["q\"1", "42", "77", "zzz"])
        let none = Array(#"{"r":{}}"#.utf8).withUnsafeBytes { p in e.captures.map { $0.value(in: p) } }
        #expect(none == [nil, nil, nil, nil])
    }

    @Test("handlers load at the top and in groups; a group's users run the scenario's, then its own")
    func handlers() throws {
        let s = try load("""
        target: ws://h/
        phases: [{ duration: 1s, connections: 4 }]
        on:
          - { equals: '2', reply: '3', name: heartbeat }
        groups:
          - name: a
            on: [{ json: { type: ack }, capture: { id: { json: id } } }]
            steps: [connect, { sleep: 1s }]
          - name: b
            steps: [connect]
        """)
        #expect(s.handlers.count == 1 && s.handlers[0].reply?.source == "3" && s.handlers[0].name == "heartbeat")
        #expect(s.handlers(of: s.groups[0]).count == 2 && s.handlers(of: s.groups[1]).count == 1)
        #expect(s.variables == ["id"])
    }

    @Test("mistakes in captures and variables are located", arguments: [
        (base + "  - send: '{{vars.room}}'\n", 6, 11, "is not set by any capture"),
        (base + "  - expect: { contains: x, capture: { room: { json: id } } }\n  - send: '{{vars.rom}}'\n", 7, 11, "did you mean vars.room?"),
        (base + "  - expect: { contains: x, capture: { room: { jsn: id } } }\n", 6, 47, "did you mean \"json\"?"),
        (base + "  - expect: { contains: x, capture: { room: { json: id, regex: x } } }\n", 6, 45, "one of them"),
        (base + "  - expect: { contains: x, capture: { room: { regex: '(' } } }\n", 6, 54, "invalid regular expression"),
        (base + "  - expect: { contains: x, capture: { 1room: { json: id } } }\n", 6, 39, "a variable name is letters"),
        // Handlers.
        (base + "on:\n  - { reply: '3' }\n", 7, 5, "a handler needs what to match"),
        (base + "on:\n  - { equals: '2' }\n", 7, 5, "a handler does something"),
        (base + "on:\n  - { equals: '2', measure: lag }\n", 7, 20, "add latency_from: FIELD"),
        (base + "on:\n  - { equals: '2', rply: '3' }\n", 7, 20, "did you mean \"reply\"?"),
        (base + "on:\n  - { equals: '2', reply: '{{vars.nope}}' }\n", 7, 27, "is not set by any capture"),
    ])
    func locatedErrors(text: String, line: Int, column: Int, message: String) {
        expectLocatedError(text, line: line, column: column, message: message) { (t) throws(ScenarioError) in try load(t) }
    }
}

@Suite("Socket.IO packets")
struct SocketIOPacketTests {
    @Test("an event packet's data is found with or without a namespace and an ack id; other packets have none", arguments: [
        (#"42["message",{"from":"a","seq":3}]"#, #"{"from":"a","seq":3}"#),
        (#"4217["message",{"seq":1}]"#, #"{"seq":1}"#),
        (#"42/chat,5["say",{"seq":2}]"#, #"{"seq":2}"#),
        (#"42["we\"ird", {"seq":4} ]"#, #"{"seq":4} "#),
        (#"42["ping"]"#, nil),
        (#"43["message",{"seq":1}]"#, nil),
        ("2", nil),
        (#"0{"sid":"x"}"#, nil),
        (#"42["x","#, nil),
    ] as [(String, String?)])
    func eventData(packet: String, data: String?) {
        let found = Array(packet.utf8).withUnsafeBytes { SocketIOPacket.eventData($0).map { String(decoding: $0, as: UTF8.self) } }
        #expect(found == data)
    }
}
