import Report
import Scenario

/// Exit codes (README, "Exit codes").
typealias ExitCode = Verdict.ExitCode

/// A command-line mistake, told to the user with what to do about it.
struct UsageError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Parsed `--name value`, `--name=value` and `--flag` options plus positional arguments, checked
/// against the options a subcommand accepts.
struct CommandLineOptions {
    private(set) var positionals: [String] = []
    private var values: [String: [String]] = [:]
    private var flags: Set<String> = []

    /// Parses `arguments`; `valued` options take a value, `switches` do not.
    init(_ arguments: [String], valued: Set<String>, switches: Set<String> = []) throws(UsageError) {
        var i = 0
        while i < arguments.count {
            let arg = arguments[i]
            i += 1
            guard arg.hasPrefix("--"), arg.count > 2 else {
                positionals.append(arg)
                continue
            }
            var name = String(arg.dropFirst(2))
            var inline: String?
            if let eq = name.firstIndex(of: "=") {
                inline = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            if switches.contains(name) {
                guard inline == nil else { throw UsageError("--\(name) takes no value") }
                flags.insert(name)
            } else if valued.contains(name) {
                if let inline {
                    values[name, default: []].append(inline)
                } else {
                    guard i < arguments.count else { throw UsageError("--\(name) needs a value") }
                    values[name, default: []].append(arguments[i])
                    i += 1
                }
            } else {
                let known = (valued.union(switches)).sorted()
                let hint = Suggest.closest(to: name, among: known).map { " (did you mean --\($0)?)" } ?? ""
                throw UsageError("unknown option --\(name)\(hint); options: \(known.map { "--\($0)" }.joined(separator: ", "))")
            }
        }
    }

    /// The last value given for `name`.
    func value(_ name: String) -> String? { values[name]?.last }

    /// Every value given for `name`, in order (for repeatable options).
    func all(_ name: String) -> [String] { values[name] ?? [] }

    /// True when the switch was given.
    func has(_ name: String) -> Bool { flags.contains(name) }

    /// `name` as an integer in `range`, or `defaultValue` when absent.
    func integer(_ name: String, default defaultValue: Int, range: ClosedRange<Int>) throws(UsageError) -> Int {
        guard let text = value(name) else { return defaultValue }
        guard let v = Int(text), range.contains(v) else {
            throw UsageError("--\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound), got \"\(text)\"")
        }
        return v
    }
}
