import Foundation
import Testing
import TestSupport

/// `volley run` against wss:// targets, as a user runs it: a private CA, resumption on
/// reconnect, verification failures that end in a report rather than a hang.
@Suite("volley run over wss://", .serialized)
struct SecureRunTests {
    /// A scenario file next to the certificate (its `tls: ca:` is relative to the scenario).
    func scenario(_ text: String, in certificate: TestCertificate) throws -> String {
        let path = certificate.directory + "/scenario.yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static let echo = """
    name: secure-echo
    target: wss://localhost:1/echo
    tls: { ca: cert.pem }
    compression: { deflate: true }
    model: open
    phases:
      - { name: steady, duration: 3s, connections: 200, rate: 5/s }
    steps:
      - connect
      - loop:
          - send: '{"type":"ping","vu":{{vu}},"seq":{{seq}}}'
          - expect: { json: { type: ping, seq: "{{seq}}" }, within: 2s, measure: rtt }
    thresholds:
      - error_rate == 0
      - connect_success == 100%
    """

    @Test("a wss:// target signed by a private CA, deflate on, gives the same report as ws://: every connection, message and reply")
    func privateCA() throws {
        let cert = try TestCertificate()
        defer { cert.remove() }
        let secure = try TargetProcess(certificate: cert)
        let plain = try TargetProcess()
        let path = try scenario(Self.echo, in: cert)
        let wss = try VolleyRun.run(["run", path, "--quiet", "--target", secure.url("/echo"), "--seed", "7"])
        let ws = try VolleyRun.run(["run", path, "--quiet", "--target", plain.url("/echo"), "--seed", "7"])
        for run in [wss, ws] { #expect(run.passedApartFromLatency, "exit \(run.status)\n\(run.stdout)\n\(run.stderr)") }
        let a = try wss.results(), b = try ws.results()
        // The same shape of report; wss sends a little less in a short run because its
        // connections take longer to open (the TLS handshake).
        for r in [a, b] {
            #expect(r.counter("connections.opened") == 200)
            #expect(r.counter("messages.received") == r.counter("messages.sent") && r.counter("messages.sent") > 2500)
            #expect(r.histogram("rtt", "count") as? Int == Int(r.counter("messages.received")))
            #expect(r.counter("compression.connections") == 200)
            #expect(r.counter("compression.message_bytes_received") == r.counter("bytes.received"))
        }
        #expect(a.counter("connections.opened") == 200 && a.errorCount == 0)
        #expect(a.counter("tls.handshakes") == 200 && b.counter("tls.handshakes") == 0)
        #expect(a.histogram("tls_handshake", "count") as? Int == 200)
        #expect(b.histogram("tls_handshake", "count") == nil)
        #expect(wss.stdout.contains("tls          200 handshakes, 0 resumed"))
    }

    static let reconnecting = """
    name: secure-reconnect
    target: wss://localhost:1/echo
    tls: { ca: cert.pem SESSION }
    phases:
      - { name: steady, duration: 3s, connections: 20 }
    steps:
      - connect
      - loop:
          count: 4
          steps:
            - send: hello
            - expect: { contains: hello, within: 2s }
            - reconnect
      - sleep: 10s
    """

    @Test("users resume their TLS session when they reconnect; session_reuse: false makes every handshake full")
    func resumption() throws {
        let cert = try TestCertificate()
        defer { cert.remove() }
        let target = try TargetProcess(certificate: cert)
        for reuse in [true, false] {
            let text = Self.reconnecting.replacingOccurrences(of: " SESSION", with: reuse ? "" : ", session_reuse: false")
            let run = try VolleyRun.run(["run", try scenario(text, in: cert), "--quiet", "--target", target.url("/echo")])
            let results = try run.results()
            #expect(run.passedApartFromLatency, "exit \(run.status)\n\(run.stdout)")
            // 20 users, each 1 connect and 4 reconnects.
            #expect(results.counter("tls.handshakes") == 100)
            #expect(results.counter("tls.resumed") == (reuse ? 80 : 0), "session_reuse \(reuse)")
            #expect(results.errorCount == 0)
        }
    }

    @Test("without the private CA every handshake fails verification: counted by class and reason, reported, no hang")
    func unknownCA() throws {
        let cert = try TestCertificate()
        defer { cert.remove() }
        let target = try TargetProcess(certificate: cert)
        let text = Self.echo.replacingOccurrences(of: "tls: { ca: cert.pem }\n", with: "")
            .replacingOccurrences(of: "duration: 3s, connections: 200", with: "duration: 2s, connections: 20")
        let started = Date()
        let run = try VolleyRun.run(["run", try scenario(text, in: cert), "--quiet", "--target", target.url("/echo")])
        #expect(Date().timeIntervalSince(started) < 30)
        let results = try run.results()
        #expect(run.status == 1 && results.verdict == "failed")
        #expect(results.counter("errors.tls.verify_failed") >= 20)
        #expect(results.counter("errors.tls.verify_failed.self_signed_certificate") == results.counter("errors.tls.verify_failed"))
        #expect(results.counter("connections.opened") == 0)
        #expect(run.stdout.contains("tls.verify_failed"))
        // --insecure connects to the same server.
        let insecure = try VolleyRun.run(["run", try scenario(text, in: cert), "--quiet", "--target", target.url("/echo"), "--insecure"])
        #expect(insecure.passedApartFromLatency, "\(insecure.stdout)")
        #expect(try insecure.results().counter("connections.opened") == 20)
    }
}

/// volley against third-party TLS WebSocket peers: Python `websockets` over `ssl`, with
/// certificates from a private CA made by `trustme`.
@Suite("TLS interoperability (Python websockets)", .serialized, .enabled(if: InteropPython.shouldRun))
struct TLSInteropTests {
    static let scenario = """
    name: interop
    target: wss://localhost:1/
    tls: { ca: ca.pem MTLS }
    phases:
      - { name: steady, duration: 2s, connections: 50, rate: 10/s }
    steps:
      - connect
      - loop:
          - send: 'hello {{vu}} {{seq}}'
          - expect: { contains: 'hello {{vu}} {{seq}}', within: 2s, measure: rtt }
    """

    func write(_ text: String, in directory: String) throws -> String {
        let path = directory + "/scenario.yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("volley's client against a websockets server: verified by the private CA, every echo back")
    func volleyClient() throws {
        let certs = try InteropPython.makeCertificates()
        defer { try? FileManager.default.removeItem(atPath: certs) }
        let server = try InteropServer(certificates: certs)
        let path = try write(Self.scenario.replacingOccurrences(of: " MTLS", with: ""), in: certs)
        let run = try VolleyRun.run(["run", path, "--quiet", "--target", "wss://localhost:\(server.port)/"])
        let results = try run.results()
        #expect(run.passedApartFromLatency, "\(run.stdout)\n\(run.stderr)")
        #expect(results.counter("connections.opened") == 50 && results.errorCount == 0)
        #expect(results.counter("messages.received") == results.counter("messages.sent") && results.counter("messages.sent") > 500)
        #expect(results.counter("tls.handshakes") == 50)
    }

    @Test("mutual TLS: a websockets server that requires a client certificate accepts volley's client_cert, and refuses volley without one")
    func mutualTLS() throws {
        let certs = try InteropPython.makeCertificates()
        defer { try? FileManager.default.removeItem(atPath: certs) }
        let server = try InteropServer(certificates: certs, extra: ["--mtls"])
        let with = try write(Self.scenario.replacingOccurrences(of: " MTLS", with: ", client_cert: client.pem, client_key: client-key.pem"), in: certs)
        let run = try VolleyRun.run(["run", with, "--quiet", "--target", "wss://localhost:\(server.port)/"])
        let results = try run.results()
        #expect(run.passedApartFromLatency, "\(run.stdout)\n\(run.stderr)")
        #expect(results.counter("connections.opened") == 50 && results.errorCount == 0)
        let without = try write(Self.scenario.replacingOccurrences(of: " MTLS", with: ""), in: certs)
        let refused = try VolleyRun.run(["run", without, "--quiet", "--target", "wss://localhost:\(server.port)/"])
        let refusedResults = try refused.results()
        #expect(refused.status == 1)
        #expect(refusedResults.counter("connections.opened") == 0 && refusedResults.errorCount >= 50, "\(refused.stdout)")
    }

    @Test("a websockets client against volley target --tls-cert: messages of many sizes echo intact")
    func volleyServer() throws {
        let certs = try InteropPython.makeCertificates()
        defer { try? FileManager.default.removeItem(atPath: certs) }
        let port = VolleyProcess.freePort()
        let target = try VolleyProcess(["target", "--listen", "127.0.0.1:\(port)", "--tls-cert", certs + "/server-cert.pem",
                                        "--tls-key", certs + "/server-key.pem"])
        defer { target.signal(SIGTERM); _ = target.wait(timeout: 10) }
        var result = try InteropPython.run(["client", certs, "wss://localhost:\(port)/echo", "200"])
        for _ in 0..<50 where result.status != 0 && result.stderr.contains("Connect call failed") {
            usleep(100_000)
            result = try InteropPython.run(["client", certs, "wss://localhost:\(port)/echo", "200"])
        }
        #expect(result.status == 0 && result.stdout.contains("ok 200"), "\(result.stdout)\n\(result.stderr)")
        // websockets offers permessage-deflate by default; volley target accepts it.
        #expect(result.stdout.contains("extensions permessage-deflate"), "\(result.stdout)")
    }

    @Test("volley's client with permessage-deflate against a websockets server with compression: agreed, every echo back, fewer bytes on the wire")
    func deflateAgainstWebsockets() throws {
        let certs = try InteropPython.makeCertificates()
        defer { try? FileManager.default.removeItem(atPath: certs) }
        let server = try InteropServer(certificates: certs, extra: ["--deflate"])
        for setting in ["{ deflate: true }", "{ deflate: true, client_no_context_takeover: true, server_no_context_takeover: true }",
                        "{ deflate: true, server_max_window_bits: 10, client_max_window_bits: 9 }"] {
            let text = Self.scenario.replacingOccurrences(of: " MTLS", with: "")
                .replacingOccurrences(of: "tls: { ca: ca.pem }", with: "tls: { ca: ca.pem }\ncompression: \(setting)")
                .replacingOccurrences(of: "'hello {{vu}} {{seq}}'", with: "'{\"type\":\"chat\",\"text\":\"hello from user {{vu}}, message {{seq}}, hello again\"}'")
                .replacingOccurrences(of: "contains: 'hello {{vu}} {{seq}}'", with: "contains: 'user {{vu}}, message {{seq}},'")
            let run = try VolleyRun.run(["run", try write(text, in: certs), "--quiet", "--target", "wss://localhost:\(server.port)/"])
            let results = try run.results()
            #expect(run.passedApartFromLatency, "\(setting): \(run.stdout)\n\(run.stderr)")
            #expect(results.counter("compression.connections") == 50 && results.errorCount == 0, "\(setting): \(run.stdout)")
            #expect(results.counter("compression.wire_bytes_sent") < results.counter("compression.message_bytes_sent"), "\(setting)")
            #expect(results.counter("compression.message_bytes_received") == results.counter("bytes.received"), "\(setting)")
            // The ratio per direction, in the summary and the report.
            #expect(run.stdout.contains("compression  permessage-deflate on 50 of 50 connections; sent "), "\(run.stdout)")
            let html = try String(contentsOfFile: run.outputDirectory + "/report.html", encoding: .utf8)
            #expect(html.contains("TLS and compression") && html.contains("compression, sent") && html.contains("compression, received"))
            #expect(html.contains("TLS handshakes"))
        }
    }
}
