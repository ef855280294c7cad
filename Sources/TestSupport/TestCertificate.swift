import Foundation
import Net
import WebSocket

/// A self-signed P-256 certificate and its key in a temporary directory, made by volley's own
/// OpenSSL shim (valid for localhost and 127.0.0.1 unless told otherwise).
public struct TestCertificate {
    public let directory: String
    public var certificatePath: String { directory + "/cert.pem" }
    public var keyPath: String { directory + "/key.pem" }
    public let certificatePEM: String
    public let keyPEM: String

    public init(name: String = "localhost", validity: ClosedRange<Int> = -3600...86400) throws {
        directory = NSTemporaryDirectory() + "volley-cert-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try TLSContext.writeSelfSigned(certificate: directory + "/cert.pem", key: directory + "/key.pem", name: name, validity: validity)
        certificatePEM = Repository.readText(directory + "/cert.pem") ?? ""
        keyPEM = Repository.readText(directory + "/key.pem") ?? ""
    }

    /// Server options serving this certificate.
    public func serverOptions() throws -> ServerOptions {
        var options = ServerOptions()
        options.tls = try TLSContext(serverCertificate: certificatePEM, key: keyPEM)
        return options
    }

    /// A client that trusts this certificate (as its private CA).
    public func trustingClient(serverName: String? = nil, session: TLSSession? = nil) throws -> ClientTLS {
        var options = TLSContext.ClientOptions()
        options.caPEM = certificatePEM
        return ClientTLS(context: try TLSContext(client: options), serverName: serverName, session: session)
    }

    public func remove() { try? FileManager.default.removeItem(atPath: directory) }
}
