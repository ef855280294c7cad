import CVolleyLinux
#if canImport(Glibc)
import Glibc
#endif

/// Why TLS failed: certificate verification, the handshake itself, a timeout, or a setup
/// problem (unreadable certificate, key that does not match). `reason` is OpenSSL's.
public struct TLSError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case verifyFailed = "verify_failed"
        case handshake
        case timeout
        case closedDuringHandshake = "closed"
        case setup
    }

    public let kind: Kind
    public let reason: String

    public init(_ kind: Kind, _ reason: String) {
        self.kind = kind
        self.reason = reason
    }

    public var description: String {
        switch kind {
        case .verifyFailed: return "TLS certificate verification failed: \(reason)"
        case .handshake: return "TLS handshake failed: \(reason)"
        case .timeout: return "TLS handshake timed out"
        case .closedDuringHandshake: return "TLS handshake failed: \(reason)"
        case .setup: return "TLS setup failed: \(reason)"
        }
    }
}

/// The OpenSSL volley is linked with.
public enum OpenSSL {
    public static var version: String { String(cString: volley_openssl_version()) }
}

/// A TLS configuration (an OpenSSL context) shared by many connections: a client's trust and
/// identity, a server's certificate, or the control channel's pre-shared key.
public final class TLSContext: @unchecked Sendable {
    // @unchecked: an SSL_CTX is safe to share once configured; connections are made from it on
    // any loop.
    let pointer: UnsafeMutableRawPointer

    /// What a client trusts and how it identifies itself.
    public struct ClientOptions: Sendable, Equatable {
        /// Trusted roots in PEM; nil: the system's.
        public var caPEM: String?
        /// Check the server's certificate (off only for `insecure`).
        public var verify = true
        public var certificatePEM: String?
        public var keyPEM: String?
        /// 12 (TLS 1.2) or 13.
        public var minimumVersion = 12
        /// Keep the sessions servers issue, so connections can resume them (`takeSession`).
        public var keepSessions = true

        public init() {}
    }

    /// A client context.
    public init(client options: ClientOptions) throws(TLSError) {
        var error = [CChar](repeating: 0, count: 256)
        let made = volley_tls_client_context(options.caPEM, options.verify ? 1 : 0, options.certificatePEM, options.keyPEM,
                                             Int32(options.minimumVersion), options.keepSessions ? 1 : 0, &error, Int32(error.count))
        guard let made else { throw TLSError(.setup, Self.text(error)) }
        pointer = made
    }

    /// A server context from a certificate (chain) and its key, in PEM.
    public init(serverCertificate certificatePEM: String, key keyPEM: String) throws(TLSError) {
        var error = [CChar](repeating: 0, count: 256)
        guard let made = volley_tls_server_context(certificatePEM, keyPEM, &error, Int32(error.count)) else {
            throw TLSError(.setup, Self.text(error))
        }
        pointer = made
    }

    /// A TLS 1.3 context whose only credential is a key derived from `token` (the control
    /// channel): both ends prove they hold the token by completing the handshake, and the token
    /// itself never crosses the wire.
    public init(preSharedToken token: [UInt8], server: Bool) throws(TLSError) {
        var error = [CChar](repeating: 0, count: 256)
        let made = token.withUnsafeBufferPointer { t in
            volley_tls_psk_context(server ? 1 : 0, t.baseAddress, Int32(t.count), &error, Int32(error.count))
        }
        guard let made else { throw TLSError(.setup, Self.text(error)) }
        pointer = made
    }

    deinit { volley_tls_context_free(pointer) }

    static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Writes a self-signed P-256 certificate for `name` (valid for localhost and 127.0.0.1 too)
    /// and its key to the two paths; valid from an hour ago for 30 days unless `validity` (seconds
    /// from now) says otherwise (tests make expired certificates).
    public static func writeSelfSigned(certificate: String, key: String, name: String = "localhost",
                                       validity: ClosedRange<Int> = -3600...(30 * 86400)) throws(TLSError) {
        var error = [CChar](repeating: 0, count: 256)
        guard volley_tls_self_signed(certificate, key, name, validity.lowerBound, validity.upperBound, &error, Int32(error.count)) == 0 else {
            throw TLSError(.setup, text(error))
        }
    }
}

/// A session a server issued, offered on a later connection to resume instead of a full
/// handshake (as browsers do on reconnect).
public final class TLSSession: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    init(_ pointer: UnsafeMutableRawPointer) { self.pointer = pointer }
    deinit { volley_tls_session_free(pointer) }
}

/// TLS over one non-blocking socket, driven by its event loop: handshake steps, then records
/// read and written. Owned by one connection on one loop.
public final class TLSStream {
    let ssl: UnsafeMutableRawPointer

    /// What a handshake step needs next.
    public enum Progress: Equatable { case done, wantsRead, wantsWrite, failed(TLSError) }

    /// A client stream to `serverName` (sent as SNI; checked against the certificate when the
    /// context verifies), offering `session` for resumption.
    public init(client context: TLSContext, socket: Socket, serverName: String?, verifyName: Bool, session: TLSSession?) throws(TLSError) {
        guard let made = volley_tls_new(context.pointer, socket.fd, 0, serverName, verifyName ? 1 : 0, session?.pointer) else {
            throw TLSError(.setup, "cannot create a TLS connection")
        }
        ssl = made
    }

    /// A server stream.
    public init(server context: TLSContext, socket: Socket) throws(TLSError) {
        guard let made = volley_tls_new(context.pointer, socket.fd, 1, nil, 0, nil) else {
            throw TLSError(.setup, "cannot create a TLS connection")
        }
        ssl = made
    }

    deinit { volley_tls_free(ssl, 0) }

    /// One step of the handshake.
    public func handshake() -> Progress {
        switch volley_tls_handshake(ssl) {
        case 1: return .done
        case 0: return .wantsRead
        case 2: return .wantsWrite
        default:
            var reason = [CChar](repeating: 0, count: 256)
            let kind = volley_tls_failure(ssl, &reason, Int32(reason.count))
            let text = TLSContext.text(reason)
            switch kind {
            case 1: return .failed(TLSError(.verifyFailed, text))
            case 3: return .failed(TLSError(.closedDuringHandshake, text))
            default: return .failed(TLSError(.handshake, text))
            }
        }
    }

    /// Decrypted bytes into `buffer`, as many records as OpenSSL holds and fit:
    /// `.transferred(n)`, `.wouldBlock` (including "wants to write", rare after the handshake),
    /// `.endOfStream` (close_notify, or TCP closed), `.failed(errno)`; a TLS protocol error
    /// (a record that does not decrypt, a fatal alert) is `.failed(EPROTO)`.
    @inline(__always)
    public func read(into buffer: UnsafeMutableRawBufferPointer) -> IOResult {
        Self.result(volley_tls_read_available(ssl, buffer.baseAddress, Int32(clamping: buffer.count)))
    }

    @inline(__always)
    static func result(_ n: Int32) -> IOResult {
        if n > 0 { return .transferred(Int(n)) }
        switch n {
        case 0, -2: return .wouldBlock
        case -1: return .endOfStream
        case ...(-1000): return .failed(-(n + 1000))
        default: return .failed(EPROTO)
        }
    }

    /// True when OpenSSL holds input not returned yet: read again before waiting for the socket.
    @inline(__always)
    public var hasPending: Bool { volley_tls_has_pending(ssl) != 0 }

    /// Encrypts and writes `bytes` (possibly partly).
    @inline(__always)
    public func write(_ bytes: UnsafeRawBufferPointer) -> IOResult {
        guard bytes.count > 0 else { return .transferred(0) }
        return Self.result(volley_tls_write(ssl, bytes.baseAddress, Int32(clamping: bytes.count)))
    }

    /// Frees record buffers of an idle connection.
    public func releaseBuffers() { volley_tls_release_buffers(ssl) }

    /// True when the handshake resumed an earlier session.
    public var resumed: Bool { volley_tls_session_reused(ssl) != 0 }

    /// The newest session the server issued on this connection, to resume on the next.
    public func takeSession() -> TLSSession? { volley_tls_take_session(ssl).map(TLSSession.init) }

    /// Sends close_notify (when the connection ends cleanly).
    public func shutdown() { volley_tls_shutdown(ssl) }

    /// "TLSv1.3 TLS_AES_256_GCM_SHA384".
    public var description: String {
        var out = [CChar](repeating: 0, count: 96)
        volley_tls_describe(ssl, &out, Int32(out.count))
        return TLSContext.text(out)
    }
}
