import Digest

/// Mutual challenge-response authentication on a shared token (HMAC-SHA256).
///
/// Each side sends a fresh 32-byte nonce in its hello. The coordinator proves it holds the token
/// with HMAC(token, "volley-coordinator" ‖ agentNonce ‖ coordinatorNonce); the agent answers with
/// HMAC(token, "volley-agent" ‖ coordinatorNonce ‖ agentNonce). Proofs are compared in constant
/// time; a replayed proof is useless because the other side's nonce is new each time.
public enum Authentication {
    /// The coordinator's proof.
    public static func coordinatorProof(token: [UInt8], agentNonce: [UInt8], coordinatorNonce: [UInt8]) -> [UInt8] {
        HMACSHA256.authenticationCode(for: Array("volley-coordinator".utf8) + agentNonce + coordinatorNonce, key: token)
    }

    /// The agent's proof.
    public static func agentProof(token: [UInt8], agentNonce: [UInt8], coordinatorNonce: [UInt8]) -> [UInt8] {
        HMACSHA256.authenticationCode(for: Array("volley-agent".utf8) + coordinatorNonce + agentNonce, key: token)
    }

    /// True when `proof` equals `expected` (constant time).
    public static func verify(_ proof: [UInt8], expected: [UInt8]) -> Bool {
        ConstantTime.equals(proof, expected)
    }

    /// The token in a token file: its content without surrounding whitespace.
    public static func token(fromFile text: String) -> [UInt8] {
        var bytes = Array(text.utf8)
        while let last = bytes.last, last == 10 || last == 13 || last == 32 || last == 9 { bytes.removeLast() }
        while let first = bytes.first, first == 10 || first == 13 || first == 32 || first == 9 { bytes.removeFirst() }
        return bytes
    }
}
