/// How `wss://` connections are secured: what the client trusts, how it identifies itself, and
/// whether it resumes sessions. Certificates and keys are carried as their PEM text, read once
/// on the coordinator (agents receive them in the run plan over the encrypted control channel).
public struct TLSOptions: Sendable, Equatable {
    /// Trusted roots instead of the system's (a private CA).
    public var ca: PEMFile?
    /// Skip certificate verification (self-signed test servers).
    public var insecure = false
    /// The name sent as SNI and checked against the certificate (default: each URL's host).
    public var serverName: String?
    /// The client certificate and key for mutual TLS.
    public var clientCertificate: PEMFile?
    public var clientKey: PEMFile?
    /// Resume the previous session when a user reconnects (as browsers do); off forces a full
    /// handshake every time (connection-storm tests).
    public var sessionReuse = true
    /// The oldest protocol accepted: 12 (TLS 1.2) or 13 (TLS 1.3).
    public var minimumVersion = 12

    public init() {}

    /// The PEM files the options name, as (path, contents).
    public var files: [PEMFile] { [ca, clientCertificate, clientKey].compactMap { $0 } }
}

/// A certificate or key file: where it was read and what it holds.
public struct PEMFile: Sendable, Equatable {
    public var path: String
    public var contents: String

    public init(path: String, contents: String) {
        self.path = path
        self.contents = contents
    }
}

/// permessage-deflate (RFC 7692): whether the client offers it and with which parameters.
public struct CompressionOptions: Sendable, Equatable {
    /// Offer permessage-deflate in the handshake.
    public var deflate = false
    /// Ask that each message the client sends is compressed on its own (no shared window).
    public var clientNoContextTakeover = false
    /// Ask the server to compress each message on its own.
    public var serverNoContextTakeover = false
    /// The client's compression window (8...15 bits); nil: offered without a value (15).
    public var clientMaxWindowBits: Int?
    /// The window the server may use (8...15); nil: not limited.
    public var serverMaxWindowBits: Int?

    public init() {}
}
