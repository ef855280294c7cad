import ByteCoding
import Scenario
import WebSocket
import WireProtocol

/// The parsers that read what peers and users write, fed arbitrary bytes. Each must answer
/// with a value or a typed error, never crash; the oracles below check what they answer.
enum ParserFuzzing {
    /// HTTP heads (what a target answers to the upgrade, what a client sends to volley target),
    /// and the header values volley interprets.
    static func http(_ input: UnsafeRawBufferPointer) {
        _ = HTTPHeadParser.scan(input)
        if let request = try? HTTPHeadParser.parseRequest(input) {
            _ = request.queryParameter("name")
            for value in request.headers.values("sec-websocket-extensions") { _ = try? DeflateNegotiation.parse(value) }
            _ = request.headers.tokens("connection")
        }
        if let response = try? HTTPHeadParser.parseResponse(input) {
            for value in response.headers.values("sec-websocket-extensions") { _ = try? DeflateNegotiation.parse(value) }
        }
        let text = String(decoding: input, as: UTF8.self)
        _ = WebSocketURL(text)
        _ = PercentCoding.decode(text)
    }

    /// The coordinator-agent frames and messages. Oracle: whatever decodes re-encodes to bytes
    /// that decode to the same message.
    static func wire(_ input: UnsafeRawBufferPointer) {
        var assembler = FrameAssembler(limit: 1 << 20)
        assembler.append(input)
        while let payload = try? assembler.next() {
            guard let message = try? WireMessage.decode(payload) else { continue }
            let again: WireMessage
            do {
                again = try WireMessage.decode(message.encode())
            } catch {
                fatalError("a decoded \(message.name) message does not decode after encoding: \(error)")
            }
            guard again == message else {
                fatalError("a \(message.name) message changed in an encode/decode round trip:\n\(message)\n\(again)")
            }
        }
    }

    /// Scenario files. Oracle: an error points into the text (a line and column that exist).
    static func scenario(_ input: UnsafeRawBufferPointer) {
        let text = String(decoding: input, as: UTF8.self)
        do {
            _ = try ScenarioLoader.load(source: text, file: "fuzz.yaml", feeder: { (_) throws(ScenarioError) -> Feeder? in
                Feeder(file: "users.csv", columns: ["user", "token"], rows: [["alice", "t1"], ["bob", "t2"]])
            }, files: { (_) throws(ScenarioError) -> String in "-----BEGIN CERTIFICATE-----\n" })
        } catch {
            // Lines as the parser counts them: by line feed bytes ("\r\n" is one Character).
            let lines = text.utf8.split(separator: 10, omittingEmptySubsequences: false).count
            guard error.line >= 1, error.line <= lines + 1, error.column >= 1 else {
                fatalError("an error outside the text (line \(error.line), column \(error.column) of \(lines) lines): \(error.message)")
            }
        }
        _ = try? Feeder.parse(text, file: "fuzz.csv")
    }
}
