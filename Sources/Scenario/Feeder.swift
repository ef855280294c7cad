/// Per-virtual-user data from a CSV file: a header row naming the columns, then one row per user.
/// Virtual user i (counted across all agents) gets row i modulo the number of rows.
public struct Feeder: Sendable, Equatable {
    public let file: String
    public let columns: [String]
    public let rows: [[String]]

    public init(file: String, columns: [String], rows: [[String]]) {
        self.file = file
        self.columns = columns
        self.rows = rows
    }

    /// The row for virtual user `vu`.
    public func row(for vu: Int) -> [String] { rows[vu % rows.count] }

    /// Parses RFC 4180 CSV (quoted fields, "" escapes, CRLF or LF); errors carry the line.
    public static func parse(_ text: String, file: String) throws(ScenarioError) -> Feeder {
        var records: [([String], Int)] = []
        var field = ""
        var record: [String] = []
        var inQuotes = false
        var line = 1
        var recordLine = 1
        var fieldStarted = false
        var quotedField = false
        let chars = Array(text.unicodeScalars)
        var i = 0
        func endField() {
            record.append(field)
            field = ""
            fieldStarted = false
            quotedField = false
        }
        while i < chars.count {
            let c = chars[i]
            if inQuotes {
                if c == "\"" {
                    if i + 1 < chars.count && chars[i + 1] == "\"" {
                        field.unicodeScalars.append("\"")
                        i += 2
                        continue
                    }
                    inQuotes = false
                } else {
                    if c == "\n" { line += 1 }
                    field.unicodeScalars.append(c)
                }
                i += 1
                continue
            }
            switch c {
            case "\"":
                guard !fieldStarted else {
                    throw ScenarioError(file: file, line: line, column: 1, message: "a quote appears inside an unquoted field; quote the whole field and double inner quotes (\"\")")
                }
                inQuotes = true
                quotedField = true
                fieldStarted = true
            case ",":
                endField()
            case "\r":
                break
            case "\n":
                endField()
                if !(record.count == 1 && record[0].isEmpty) { records.append((record, recordLine)) }
                record = []
                line += 1
                recordLine = line
            default:
                if quotedField {
                    throw ScenarioError(file: file, line: line, column: 1, message: "text after a closing quote; expected ',' or the end of the line")
                }
                field.unicodeScalars.append(c)
                fieldStarted = true
            }
            i += 1
        }
        if inQuotes { throw ScenarioError(file: file, line: recordLine, column: 1, message: "a quoted field is never closed") }
        if fieldStarted || !record.isEmpty {
            endField()
            records.append((record, recordLine))
        }
        guard let header = records.first else {
            throw ScenarioError(file: file, line: 1, column: 1, message: "the feeder is empty; expected a header row naming the columns, then one row per user")
        }
        let columns = header.0.map { $0.trimmingCharacters(in: " ") }
        if let dup = columns.first(where: { c in columns.filter { $0 == c }.count > 1 }) {
            throw ScenarioError(file: file, line: 1, column: 1, message: "the column \"\(dup)\" appears twice in the header")
        }
        var rows: [[String]] = []
        for (record, recordLine) in records.dropFirst() {
            guard record.count == columns.count else {
                throw ScenarioError(file: file, line: recordLine, column: 1,
                                    message: "this row has \(record.count) field\(record.count == 1 ? "" : "s"), the header has \(columns.count)")
            }
            rows.append(record)
        }
        guard !rows.isEmpty else {
            throw ScenarioError(file: file, line: 1, column: 1, message: "the feeder has a header but no rows")
        }
        return Feeder(file: file, columns: columns, rows: rows)
    }
}
