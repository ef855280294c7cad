import Testing
import Scenario

/// Checks that loading `text` fails at `line`:`column` with a message containing `message`.
func expectLocatedError(_ text: String, line: Int, column: Int, message: String,
                        load: (String) throws(ScenarioError) -> Scenario) {
    do {
        _ = try load(text)
        Issue.record("expected an error for:\n\(text)")
    } catch {
        #expect(error.line == line && error.column == column, "\(error)")
        #expect(error.message.contains(message), "\(error)")
    }
}
