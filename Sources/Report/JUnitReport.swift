/// `junit.xml`: the run as a JUnit test suite with one test case per threshold, so CI systems
/// show which thresholds held. A run stopped by a person or by the agent policy adds one failing
/// "run completed" case, since its thresholds cover only part of the plan.
public enum JUnitReport {
    /// The XML text.
    public static func render(_ report: RunReport) -> String {
        var cases: [String] = []
        let className = "volley.\(xmlName(report.scenario))"
        var failures = 0
        for t in report.thresholds {
            var attributes = "name=\"\(Markup.escape(t.label))\" classname=\"\(Markup.escape(className))\" time=\"0\""
            if t.line > 0 { attributes += " file=\"\(Markup.escape(report.scenarioFile))\" line=\"\(t.line)\"" }
            let detail = "observed \(t.observedText), limit \(t.comparison) \(t.limitText)"
            if t.passed {
                cases.append("    <testcase \(attributes)>\n      <system-out>\(Markup.escape(detail))</system-out>\n    </testcase>")
            } else {
                failures += 1
                var message = "\(t.label): \(detail)"
                if t.stoppedRun { message += " (stopped the run early)" }
                cases.append("    <testcase \(attributes)>\n      <failure message=\"\(Markup.escape(message))\" type=\"threshold\">\(Markup.escape(message))</failure>\n    </testcase>")
            }
        }
        for p in report.phases {
            guard let d = p.delivery else { continue }
            let name = "load delivered as planned [\(p.name)]"
            let detail = "held \(Format.percent(1 - d.connectionShortfall)) of the planned connection time"
                + (d.messageShortfall.map { ", sent \(Format.percent(1 - $0)) of the planned messages" } ?? "")
                + " (shortfall allowed \(Format.percent(d.allowedShortfall)))"
            if d.passed {
                cases.append("    <testcase name=\"\(Markup.escape(name))\" classname=\"\(Markup.escape(className))\" time=\"0\">\n      <system-out>\(Markup.escape(detail))</system-out>\n    </testcase>")
            } else {
                failures += 1
                cases.append("    <testcase name=\"\(Markup.escape(name))\" classname=\"\(Markup.escape(className))\" time=\"0\">\n      <failure message=\"\(Markup.escape(detail))\" type=\"shortfall\">\(Markup.escape(detail))</failure>\n    </testcase>")
            }
        }
        let lost = report.agents.filter { $0.lostAt != nil }
        if report.agents.count > 1 || !lost.isEmpty {
            let name = "no agent lost"
            if lost.isEmpty {
                cases.append("    <testcase name=\"\(name)\" classname=\"\(Markup.escape(className))\" time=\"0\"/>")
            } else {
                failures += 1
                let message = lost.map { "\($0.name) lost at \(Format.fixed($0.lostAt!, 1)) s\($0.lostReason.map { ": \($0)" } ?? "")" }.joined(separator: "; ")
                cases.append("    <testcase name=\"\(name)\" classname=\"\(Markup.escape(className))\" time=\"0\">\n      <failure message=\"\(Markup.escape(message))\" type=\"lost-agent\">\(Markup.escape(message))</failure>\n    </testcase>")
            }
        }
        if report.verdict.status == .aborted {
            failures += 1
            let message = report.abortReason.map { "the run was aborted: \($0)" } ?? report.verdict.reason
            cases.append("    <testcase name=\"run completed\" classname=\"\(Markup.escape(className))\" time=\"\(seconds(report.duration))\">\n      <failure message=\"\(Markup.escape(message))\" type=\"aborted\">\(Markup.escape(message))</failure>\n    </testcase>")
        }
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += "<testsuites name=\"volley\" tests=\"\(cases.count)\" failures=\"\(failures)\" errors=\"0\" time=\"\(seconds(report.duration))\">\n"
        out += "  <testsuite name=\"\(Markup.escape(report.scenario))\" tests=\"\(cases.count)\" failures=\"\(failures)\" errors=\"0\" skipped=\"0\""
        out += " time=\"\(seconds(report.duration))\" timestamp=\"\(Markup.escape(String(report.startedAt.prefix(19))))\">\n"
        out += "    <properties>\n"
        for (name, value) in [("run", report.runID), ("verdict", report.verdict.status.rawValue), ("reason", report.verdict.reason),
                              ("targets", report.targets.joined(separator: " ")), ("agents", String(report.agents.count))] {
            out += "      <property name=\"\(name)\" value=\"\(Markup.escape(value))\"/>\n"
        }
        out += "    </properties>\n"
        out += cases.map { $0 + "\n" }.joined()
        out += "  </testsuite>\n</testsuites>\n"
        return out
    }

    static func seconds(_ s: Double) -> String { Format.fixed(s, 3) }

    /// A name usable as a Java-style class name part.
    static func xmlName(_ s: String) -> String {
        String(s.map { $0.isLetter || $0.isNumber || $0 == "_" ? $0 : "_" })
    }
}
