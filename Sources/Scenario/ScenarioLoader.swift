#if canImport(Glibc)
import Glibc
#endif

/// Reads scenario files: YAML, then the model, then the checks. Feeder files are read relative
/// to the scenario's directory.
public enum ScenarioLoader {
    /// Loads and checks the scenario at `path`.
    public static func load(path: String) throws(ScenarioError) -> Scenario {
        guard let text = readFile(path) else {
            throw ScenarioError(file: path, line: 1, column: 1, message: "cannot read the scenario file: \(String(cString: strerror(errno)))")
        }
        let directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        return try load(source: text, file: path, feeder: { (name) throws(ScenarioError) -> Feeder? in
            let feederPath = name.hasPrefix("/") ? name : directory + "/" + name
            guard let csv = readFile(feederPath) else {
                throw ScenarioError(file: path, line: 1, column: 1, message: "cannot read the feeder file \(feederPath): \(String(cString: strerror(errno)))")
            }
            return try Feeder.parse(csv, file: feederPath)
        }, files: { (name) throws(ScenarioError) -> String in
            let filePath = name.hasPrefix("/") ? name : directory + "/" + name
            guard let contents = readFile(filePath) else {
                throw ScenarioError(file: path, line: 1, column: 1, message: "cannot read \(filePath): \(String(cString: strerror(errno)))")
            }
            return contents
        })
    }

    /// Loads a scenario from its text; `feeder` supplies the feeder named in it (agents receive
    /// it from the coordinator instead of reading files).
    public static func load(source: String, file: String, feeder: (String) throws(ScenarioError) -> Feeder?,
                            files: (String) throws(ScenarioError) -> String = noFiles) throws(ScenarioError) -> Scenario {
        let root = try YAMLParser.parse(source, file: file)
        return try withoutActuallyEscaping(feeder) { (loader) throws(ScenarioError) -> Scenario in
            try withoutActuallyEscaping(files) { (reader) throws(ScenarioError) -> Scenario in
                try ScenarioDecoder(file: file, loadFeeder: loader, readFile: reader).decode(root, source: source)
            }
        }
    }

    /// A file reader for scenarios given as text alone.
    public static func noFiles(_ name: String) throws(ScenarioError) -> String {
        throw ScenarioError(file: name, line: 1, column: 1, message: "cannot read \(name): the scenario was given as text, without its files")
    }

    /// The whole content of a text file, or nil (errno says why).
    public static func readFile(_ path: String) -> String? {
        guard let f = fopen(path, "rb") else { return nil }
        defer { fclose(f) }
        var out = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&chunk, 1, chunk.count, f)
            if n <= 0 { break }
            out.append(contentsOf: chunk[0..<n])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension Scenario {
    /// A human-readable plan: phases with their timing and totals, and the script.
    public func describePlan() -> String {
        var out = "scenario \(name) (\(file))\n"
        if let description { out += "  \(description)\n" }
        out += "  target\(targets.count > 1 ? "s" : ""): \(targets.map(\.source).joined(separator: ", "))\n"
        out += "  model: \(model.rawValue)\(model == .open ? " (latency counts from each message's scheduled send time)" : " (each user sends after the previous reply)")\n"
        if let feeder { out += "  feeder: \(feeder.file), \(feeder.rows.count) rows, columns \(feeder.columns.joined(separator: ", "))\n" }
        out += "  phases (total \(Units.describe(nanoseconds: duration))):\n"
        var start: Int64 = 0
        for phase in phases {
            var line = "    \(Units.describe(nanoseconds: start).padded(7)) \(phase.name.padded(14)) \(Units.describe(nanoseconds: phase.duration).padded(7)) connections \(phase.connections.description.padded(13))"
            if let rate = phase.rate {
                line += " rate \(rate)"
                let peak = Double(Swift.max(phase.connections.from, phase.connections.to))
                switch rate {
                case let .perConnection(r): line += " (up to \(MessageRate.format((r * peak * 10).rounded() / 10)) msg/s)"
                case .total: break
                }
            }
            if let think = phase.think { line += " think \(think)" }
            out += line + "\n"
            start += phase.duration
        }
        out += "  steps:\n"
        func describe(_ steps: [Step], indent: String) {
            for step in steps {
                switch step.kind {
                case let .connect(c): out += "\(indent)connect\(c.url.map { " \($0.source)" } ?? "")\n"
                case let .send(s): out += "\(indent)send\(s.binary ? " (binary)" : "") \(s.payload.source.prefix(70))\n"
                case let .expect(e):
                    out += "\(indent)expect within \(Units.describe(nanoseconds: e.within))\(e.measure.map { ", measured as \($0)" } ?? "")\(e.strict ? ", strict" : "")\n"
                case let .expectNone(e): out += "\(indent)expect nothing matching for \(Units.describe(nanoseconds: e.duration))\n"
                case let .sleep(d): out += "\(indent)sleep \(d)\n"
                case let .barrier(b):
                    out += "\(indent)barrier \(b.name) (release at \(b.fraction == 1 ? "all" : "\(Int(b.fraction * 100))%"), timeout \(Units.describe(nanoseconds: b.timeout)))\n"
                case let .loop(l):
                    out += "\(indent)loop \(l.count.map { "\($0) times" } ?? "until the user stops")\n"
                    describe(l.steps, indent: indent + "  ")
                case .close: out += "\(indent)close\n"
                case .reconnect: out += "\(indent)reconnect\n"
                case let .ping(p): out += "\(indent)ping within \(Units.describe(nanoseconds: p.within)), measured as \(p.measure)\n"
                }
            }
        }
        if declaredGroups.isEmpty {
            describe(steps, indent: "    ")
        } else {
            for g in declaredGroups {
                switch g.share {
                case let .count(n): out += "  group \(g.name): \(n) users\n"
                case let .weight(w): out += "  group \(g.name): weight \(w) of the rest\n"
                }
                describe(g.steps, indent: "    ")
            }
        }
        if !thresholds.isEmpty {
            out += "  thresholds:\n"
            for t in thresholds {
                out += "    \(t.label)\(t.abortOnFail ? " (abort on fail\(t.abortGrace > 0 ? " after \(Units.describe(nanoseconds: t.abortGrace))" : ""))" : "")\n"
            }
        }
        return out
    }
}

extension String {
    func padded(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}
