import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
import TestSupport

/// Verdicts as CI sees them: the exit code of every outcome, the files in the results
/// directory, `volley report`, `volley compare`, and the webhook.
@Suite("Verdicts, outputs and alerts", .serialized)
struct VerdictTests {
    static func scenario(_ body: String) throws -> String {
        let path = NSTemporaryDirectory() + "verdict-\(UUID().uuidString).yaml"
        try body.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Two seconds of echo round trips with one threshold that cannot hold and three that do.
    static func failingScenario(_ target: TargetProcess) throws -> String {
        try scenario("""
        name: verdict-check
        target: \(target.url("/echo"))
        model: open
        phases:
          - { name: warm, duration: 1s, connections: 5, rate: 10/s }
          - { name: main, duration: 1s, connections: 5, rate: 10/s }
        steps:
          - connect
          - loop:
              - send: 'ping {{seq}}'
              - expect: { contains: 'ping {{seq}}', within: 2s, measure: rtt }
        thresholds:
          - errors_expect_timeout == 0
          - { threshold: 'count(rtt) > 10', phase: main }
          - 'rate(messages.received) < 1/s'
          - connect_success > 99%
        """)
    }

    @Test("a failed threshold exits 1 and every output file says so: results.json, junit.xml, report.html, .hlog, series.csv")
    func failedThresholds() throws {
        let target = try TargetProcess()
        defer { target.stop() }
        let run = try VolleyRun.run(["run", try Self.failingScenario(target), "--quiet"])
        #expect(run.status == 1, "\(run.stderr)")
        #expect(run.stdout.contains("✗ rate(messages.received) < 1/s"))
        #expect(run.stdout.contains("verdict: FAILED (exit 1)"))
        let r = try run.results()
        #expect(r.verdict == "failed")
        #expect(r.failedThresholds == ["rate(messages.received) < 1/s"])
        #expect((r.root["verdict"] as? [String: Any])?["exit_code"] as? Int == 1)
        let files = try FileManager.default.contentsOfDirectory(atPath: run.outputDirectory).sorted()
        #expect(files == ["connect.hlog", "generator_lag.hlog", "junit.xml", "report.html", "results.json", "rtt.hlog", "series.csv"])

        #if canImport(FoundationXML)
        let xml = try XMLDocument(contentsOf: URL(fileURLWithPath: run.outputDirectory + "/junit.xml"), options: [])
        let cases = try xml.nodes(forXPath: "//testcase")
        let names = cases.compactMap { ($0 as? XMLElement)?.attribute(forName: "name")?.stringValue }
        // Four thresholds and the load delivered in the phase "main" (and in "warm" when its five
        // connections were open within its one second, which depends on the machine).
        #expect(names.filter { !$0.hasPrefix("load delivered") }.count == 4)
        #expect(names.contains("load delivered as planned [main]"))
        let failures = try xml.nodes(forXPath: "//testcase/failure")
        #expect(failures.count == 1)
        #expect((failures.first as? XMLElement)?.attribute(forName: "message")?.stringValue?.hasPrefix("rate(messages.received) < 1/s: observed ") == true)
        #endif

        let html = try String(contentsOfFile: run.outputDirectory + "/report.html", encoding: .utf8)
        #expect(html.contains("FAILED") && html.contains("rate(messages.received) &lt; 1/s"))

        let hlog = try String(contentsOfFile: run.outputDirectory + "/rtt.hlog", encoding: .utf8)
        let lines = hlog.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.hasPrefix("\"") }
        #expect(lines.count >= 2)
        #expect(lines.allSatisfy { $0.split(separator: ",").count == 4 && $0.split(separator: ",")[3].hasPrefix("HISTF") })

        let csv = try String(contentsOfFile: run.outputDirectory + "/series.csv", encoding: .utf8).split(separator: "\n")
        #expect(csv.first?.hasPrefix("second,connections_open,") == true)
        let sentColumn = try #require(csv.first?.split(separator: ",").firstIndex(of: "messages_sent"))
        let sent = csv.dropFirst().map { Int64($0.split(separator: ",", omittingEmptySubsequences: false)[sentColumn]) ?? -1 }.reduce(0, +)
        #expect(sent == r.counter("messages.sent"))

        // volley report re-renders from results.json (given it or its directory) and exits with the run's code.
        let rerendered = NSTemporaryDirectory() + "rerendered-\(UUID().uuidString).html"
        let report = try VolleyRun.run(["report", run.outputDirectory, "--html", rerendered], addOut: false)
        #expect(report.status == 1, "\(report.stderr)")
        #expect(try String(contentsOfFile: rerendered, encoding: .utf8) == html)
    }

    @Test("abort_on_fail stops the run as soon as the threshold fails after its grace; exit 1, the threshold marked")
    func abortOnFail() throws {
        let port = VolleyProcess.freePort()
        let path = try Self.scenario("""
        target: ws://127.0.0.1:\(port)/echo
        phases:
          - { duration: 30s, connections: 5 }
        steps: [connect]
        thresholds:
          - { threshold: 'errors_refused == 0', abort_on_fail: true, grace: 1s }
          - connect_success > 99%
        """)
        let started = Date()
        let run = try VolleyRun.run(["run", path, "--quiet"], timeout: 60)
        #expect(Date().timeIntervalSince(started) < 15)
        #expect(run.status == 1, "\(run.stderr)")
        #expect(run.stderr.contains("stopping the run: errors_refused == 0"))
        let r = try run.results()
        #expect(r.status == "aborted")
        #expect(r.verdict == "failed")
        let stopped = r.thresholds.first { $0["stopped_run"] != nil }
        #expect(stopped?["expression"] as? String == "errors_refused == 0")
        #expect(((r.root["run"] as? [String: Any])?["duration_seconds"] as? Double ?? 99) < 10)
    }

    @Test("abort_on_fail across a cluster: the coordinator stops every agent; exit 1")
    func abortOnFailCluster() throws {
        let port = VolleyProcess.freePort()
        let path = try Self.scenario("""
        target: ws://127.0.0.1:\(port)/echo
        phases:
          - { duration: 30s, connections: 6 }
        steps: [connect]
        thresholds:
          - { threshold: 'connect_success > 50%', abort_on_fail: true, grace: 2s }
        """)
        let agents = try (0..<2).map { _ in try AgentProcess() }
        let run = try VolleyRun.run(["run", path, "--quiet", "--agents", agents.map(\.address).joined(separator: ","),
                                     "--token-file", agents[0].tokenFile], timeout: 60)
        #expect(run.status == 1, "\(run.stderr)")
        #expect(run.stderr.contains("stopping the run: connect_success > 50%"))
        let r = try run.results()
        #expect(r.status == "aborted" && r.verdict == "failed")
        #expect(r.agents.count == 2 && r.agents.allSatisfy { ($0["lost"] as? Bool) == false })
        #expect(((r.root["run"] as? [String: Any])?["duration_seconds"] as? Double ?? 99) < 12)
    }

    @Test("a lost agent under on_agent_loss: abort stops the run on the others: exit 3, verdict aborted")
    func lostAgentAborts() throws {
        let target = try TargetProcess()
        defer { target.stop() }
        let path = try Self.scenario("""
        target: \(target.url("/echo"))
        phases:
          - { duration: 30s, connections: 30, rate: 5/s }
        steps:
          - connect
          - loop:
              - send: x
              - expect: { contains: x, within: 2s, measure: rtt }
        thresholds:
          - error_rate < 1%
        options: { on_agent_loss: abort }
        """)
        let agents = try (0..<2).map { _ in try AgentProcess() }
        let dir = NSTemporaryDirectory() + "lost-abort-\(UUID().uuidString)"
        let coordinator = try VolleyProcess(["run", path, "--quiet", "--agents", agents.map(\.address).joined(separator: ","),
                                             "--token-file", agents[0].tokenFile, "--out", dir])
        usleep(3_000_000)
        agents[1].kill()
        let result = coordinator.wait(timeout: 60)
        #expect(result.status == 3, "\(result.stderr)")
        let r = try RunResultsFile(path: dir + "/results.json")
        #expect(r.status == "aborted" && r.verdict == "aborted")
        #expect(((r.root["run"] as? [String: Any])?["abort_reason"] as? String)?.contains("on_agent_loss: abort") == true)
        #expect(((r.root["run"] as? [String: Any])?["duration_seconds"] as? Double ?? 99) < 20)
        #expect(r.counter("messages.sent") > 0)
    }

    @Test("a run that cannot be carried out exits 2: a bad threshold, an unreachable agent")
    func couldNotRun() throws {
        let bad = try Self.scenario("""
        target: ws://127.0.0.1:1/echo
        phases:
          - { duration: 1s, connections: 1 }
        steps: [connect]
        thresholds:
          - p99(rt) < 100ms
        """)
        let invalid = try VolleyRun.run(["run", bad], addOut: false)
        #expect(invalid.status == 2)
        #expect(invalid.stderr.contains("\(bad):6:"), "\(invalid.stderr)")
        let token = NSTemporaryDirectory() + "token-\(UUID().uuidString)"
        try "t".write(toFile: token, atomically: true, encoding: .utf8)
        let good = try Self.scenario("""
        target: ws://127.0.0.1:1/echo
        phases:
          - { duration: 1s, connections: 1 }
        steps: [connect]
        """)
        let unreachable = try VolleyRun.run(["run", good, "--agents", "127.0.0.1:\(VolleyProcess.freePort())", "--token-file", token])
        #expect(unreachable.status == 2, "\(unreachable.stderr)")
        #expect(unreachable.stderr.contains("Connection refused") && unreachable.stderr.contains("before the run started"), "\(unreachable.stderr)")
    }

    @Test("Ctrl-C stops the run early, still writes the results, exits 3; junit.xml carries a failing 'run completed' case")
    func interrupted() throws {
        let target = try TargetProcess()
        defer { target.stop() }
        let dir = NSTemporaryDirectory() + "int-\(UUID().uuidString)"
        let process = try VolleyProcess(["run", Repository.root + "/scenarios/soak-short.yaml", "--quiet",
                                         "--target", target.url("/echo"), "--out", dir])
        usleep(2_500_000)
        process.signal(SIGINT)
        let result = process.wait(timeout: 20)
        #expect(result.status == 3)
        let r = try RunResultsFile(path: dir + "/results.json")
        #expect(r.status == "aborted" && r.verdict == "aborted")
        #expect(r.counter("messages.sent") > 0)
        let junit = try String(contentsOfFile: dir + "/junit.xml", encoding: .utf8)
        #expect(junit.contains("<testcase name=\"run completed\"") && junit.contains("type=\"aborted\""))
    }

    @Test("volley compare: a run against itself passes; against a slower copy it fails with the regression named")
    func compare() throws {
        let target = try TargetProcess()
        defer { target.stop() }
        let run = try VolleyRun.run(["run", try Self.failingScenario(target), "--quiet"])
        let baseline = run.outputDirectory + "/results.json"
        let same = try VolleyRun.run(["compare", baseline, baseline], addOut: false)
        #expect(same.status == 0, "\(same.stdout)\(same.stderr)")
        #expect(same.stdout.contains("no regression beyond 10%"))
        /// A copy of the baseline with the p99 round trip changed by `change`.
        func copy(p99 change: (Int64) -> Int64) throws -> String {
            var root = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: baseline))) as! [String: Any]
            var totals = root["totals"] as! [String: Any]
            var histograms = totals["histograms"] as! [String: Any]
            var rtt = histograms["rtt"] as! [String: Any]
            rtt["p99_us"] = change((rtt["p99_us"] as! NSNumber).int64Value)
            histograms["rtt"] = rtt
            totals["histograms"] = histograms
            root["totals"] = totals
            let path = NSTemporaryDirectory() + "changed-\(UUID().uuidString).json"
            try JSONSerialization.data(withJSONObject: root).write(to: URL(fileURLWithPath: path))
            return path
        }
        // Twice as slow and 200 µs more: a regression at 10 %.
        let slower = try copy { $0 * 2 + 200 }
        let regressed = try VolleyRun.run(["compare", baseline, slower, "--max-regression", "10%"], addOut: false)
        #expect(regressed.status == 1, "\(regressed.stdout)\(regressed.stderr)")
        #expect(regressed.stdout.contains("REGRESSION beyond 10%: p99(rtt)"), "\(regressed.stdout)")
        // 50 µs slower is under the noise floor, whatever the percentage.
        let noisy = try VolleyRun.run(["compare", baseline, try copy { $0 + 50 }, "--max-regression", "1%"], addOut: false)
        #expect(noisy.status == 0, "\(noisy.stdout)")
        let bad = try VolleyRun.run(["compare", baseline, slower, "--max-regression", "lots"], addOut: false)
        #expect(bad.status == 2 && bad.stderr.contains("--max-regression takes a percentage"))
        let missing = try VolleyRun.run(["compare", baseline, "/nonexistent.json"], addOut: false)
        #expect(missing.status == 2 && missing.stderr.contains("cannot read /nonexistent.json"))
    }

    @Test("--notify-url: a failed run POSTs its summary to the webhook; a passing run does not")
    func webhook() throws {
        let target = try TargetProcess()
        defer { target.stop() }
        let receiver = try HTTPReceiver()
        defer { receiver.stop() }
        let url = "http://127.0.0.1:\(receiver.port)/hooks/volley"
        let failed = try VolleyRun.run(["run", try Self.failingScenario(target), "--quiet", "--notify-url", url])
        #expect(failed.status == 1)
        #expect(failed.stdout.contains("notified \(url) (HTTP 200)"), "\(failed.stdout)\(failed.stderr)")
        let request = try #require(receiver.requests.first)
        #expect(request.head.hasPrefix("POST /hooks/volley HTTP/1.1"))
        #expect(request.head.lowercased().contains("content-type: application/json"))
        let body = try JSONSerialization.jsonObject(with: Data(request.body.utf8)) as! [String: Any]
        let text = try #require(body["text"] as? String)
        #expect(text.hasPrefix("volley: verdict-check FAILED"))
        #expect(text.contains("rate(messages.received) < 1/s"))
        let failedThresholds = body["failed_thresholds"] as? [[String: Any]]
        #expect(failedThresholds?.map { $0["expression"] as? String } == ["rate(messages.received) < 1/s"])
        #expect((body["verdict"] as? [String: Any])?["exit_code"] as? Int == 1)
        #expect((body["figures"] as? [String: Any])?["p99(rtt)"] != nil)

        let passing = try Self.scenario("""
        target: \(target.url("/echo"))
        phases:
          - { duration: 1s, connections: 2 }
        steps: [connect]
        thresholds:
          - connect_success > 50%
        """)
        let ok = try VolleyRun.run(["run", passing, "--quiet", "--notify-url", url])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(receiver.requests.count == 1)

        // A webhook that answers 500 is reported; the verdict and exit code stay those of the run.
        let broken = try HTTPReceiver(status: 500)
        defer { broken.stop() }
        let reported = try VolleyRun.run(["run", try Self.failingScenario(target), "--quiet", "--notify-url", "http://127.0.0.1:\(broken.port)/"])
        #expect(reported.status == 1)
        #expect(reported.stderr.contains("answered HTTP 500"), "\(reported.stderr)")
        #expect(FileManager.default.fileExists(atPath: reported.outputDirectory + "/notification.json"))

        // https:// goes through curl; one that cannot connect is reported with curl's exit code.
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/curl") {
            let https = try VolleyRun.run(["run", try Self.failingScenario(target), "--quiet", "--notify-url", "https://127.0.0.1:\(VolleyProcess.freePort())/hook"])
            #expect(https.status == 1)
            #expect(https.stderr.contains("curl could not post to the webhook (exit 7)"), "\(https.stderr)")
        }
    }

    @Test("--notify-url https://: posted through curl to a TLS receiver (self-signed certificate trusted via CURL_CA_BUNDLE)",
          .enabled(if: ["/usr/bin/curl", "/usr/bin/openssl", "/usr/bin/python3"].allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }))
    func webhookOverTLS() throws {
        let target = try TargetProcess()
        defer { target.stop() }
        let dir = NSTemporaryDirectory() + "tls-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let made = try Subprocess.run("/usr/bin/openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                                                          "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", dir + "/key.pem", "-out", dir + "/cert.pem"])
        try #require(made.status == 0, "\(made.stderr)")
        let port = VolleyProcess.freePort()
        let server = """
        import http.server, ssl, sys
        class Hook(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                open(sys.argv[2] + "/received.json", "wb").write(body)
                self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"ok")
            def log_message(self, *args): pass
        httpd = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Hook)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(sys.argv[2] + "/cert.pem", sys.argv[2] + "/key.pem")
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
        httpd.handle_request()
        """
        let receiver = Process()
        receiver.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        receiver.arguments = ["-c", server, String(port), dir]
        try receiver.run()
        defer { if receiver.isRunning { receiver.terminate() } }
        usleep(500_000)
        let run = try VolleyRun.run(["run", try Self.failingScenario(target), "--quiet", "--notify-url", "https://127.0.0.1:\(port)/hook"],
                                    environment: ["CURL_CA_BUNDLE": dir + "/cert.pem"])
        #expect(run.status == 1)
        #expect(run.stdout.contains("notified https://127.0.0.1:\(port)/hook (HTTP 200)"), "\(run.stdout)\(run.stderr)")
        let body = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/received.json"))) as? [String: Any]
        #expect((body?["text"] as? String)?.hasPrefix("volley: verdict-check FAILED") == true)
    }
}
