import Net
#if canImport(Glibc)
import Glibc
#endif

/// Posts a JSON body to a webhook URL: plain `http://` with a small HTTP/1.1 client, `https://`
/// through the system's `curl` (volley carries no TLS), each within a deadline.
public enum WebhookSender {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// Sends `body`; returns the HTTP status, or throws saying what went wrong. `bodyFile` holds
    /// the same body on disk, for curl to read.
    public static func post(_ body: String, to url: String, bodyFile: String, timeoutSeconds: Int = 10) throws(Failure) -> Int {
        if url.hasPrefix("https://") { return try postWithCurl(url, bodyFile: bodyFile, timeoutSeconds: timeoutSeconds) }
        guard url.hasPrefix("http://") else { throw Failure("--notify-url must start with http:// or https://, got \"\(url)\"") }
        let rest = url.dropFirst("http://".count)
        let authority = String(rest.prefix { $0 != "/" && $0 != "?" })
        var path = String(rest.dropFirst(authority.count))
        if path.isEmpty { path = "/" } else if path.first == "?" { path = "/" + path }
        var host = authority, port: UInt16 = 80
        if let colon = authority.lastIndex(of: ":"), !authority.hasSuffix("]") {
            host = String(authority[..<colon])
            guard let p = UInt16(authority[authority.index(after: colon)...]) else { throw Failure("bad port in \(url)") }
            port = p
        }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let addresses: [SocketAddress]
        do { addresses = try Resolver.resolve(host: host, port: port) } catch { throw Failure("\(error)") }
        guard let address = addresses.first else { throw Failure("cannot resolve \(host)") }
        let deadline = Instant.now.advanced(by: Int64(timeoutSeconds) * 1_000_000_000)
        func remainingMillis() -> Int32 { Int32(Swift.max(0, Instant.now.nanoseconds(to: deadline) / 1_000_000)) }

        let socket: Socket
        do {
            let (s, connected) = try Socket.connect(to: address)
            socket = s
            if !connected {
                guard wait(s.fd, events: Int16(POLLOUT), millis: remainingMillis()) else { s.close(); throw Failure("timed out connecting to \(authority)") }
                let error = s.pendingError
                if error != 0 { s.close(); throw Failure("cannot connect to \(authority): \(String(cString: strerror(error)))") }
            }
        } catch let error as Failure {
            throw error
        } catch {
            throw Failure("cannot connect to \(authority): \(error)")
        }
        defer { socket.close() }
        let request = "POST \(path) HTTP/1.1\r\nHost: \(authority)\r\nUser-Agent: volley\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n" + body
        var bytes = Array(request.utf8)[...]
        while !bytes.isEmpty {
            let result = bytes.withUnsafeBytes { socket.write($0) }
            switch result {
            case let .transferred(n): bytes = bytes.dropFirst(n)
            case .wouldBlock:
                guard wait(socket.fd, events: Int16(POLLOUT), millis: remainingMillis()) else { throw Failure("timed out sending to \(authority)") }
            default: throw Failure("the connection to \(authority) failed while sending (\(result))")
            }
        }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !response.contains(10) {
            guard wait(socket.fd, events: Int16(POLLIN), millis: remainingMillis()) else { throw Failure("no answer from \(authority) within \(timeoutSeconds) s") }
            let result = buffer.withUnsafeMutableBytes { socket.read(into: $0) }
            switch result {
            case let .transferred(n): response += buffer[0..<n]
            case .wouldBlock: continue
            default: throw Failure("\(authority) closed the connection without an HTTP status")
            }
        }
        let statusLine = String(decoding: response.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self)
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            throw Failure("\(authority) answered something that is not HTTP: \"\(statusLine.prefix(60))\"")
        }
        return status
    }

    static func wait(_ fd: Int32, events: Int16, millis: Int32) -> Bool {
        var p = pollfd(fd: fd, events: events, revents: 0)
        return poll(&p, 1, millis) == 1
    }

    /// `curl -sS -o /dev/null -w %{http_code} --data-binary @FILE URL`, reading the status it prints.
    static func postWithCurl(_ url: String, bodyFile: String, timeoutSeconds: Int) throws(Failure) -> Int {
        let searchPath = getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin"
        let directories = searchPath.split(separator: ":")
        let candidates: [String] = directories.map { String($0) + "/curl" }
        guard let curl = candidates.first(where: { (path: String) -> Bool in access(path, X_OK) == 0 }) else {
            throw Failure("https:// webhooks need curl on the PATH (volley has no TLS of its own); install curl or use an http:// relay")
        }
        let pipe: OutputPipe
        do { pipe = try OutputPipe() } catch { throw Failure("\(error)") }
        let args = [curl, "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-m", String(timeoutSeconds), "-X", "POST",
                    "-H", "Content-Type: application/json", "--data-binary", "@" + bodyFile, url]
        let child: ChildProcess
        do {
            child = try ChildProcess(path: curl, arguments: args, inherit: (pipe.writeFD, 1))
        } catch {
            _ = pipe.readAll()
            throw Failure("cannot start curl: \(error)")
        }
        let output = pipe.readAll()
        let status = child.wait()
        let code = Int(String(decoding: output, as: UTF8.self).trimmingWhitespace()) ?? 0
        guard code > 0 else { throw Failure("curl could not post to the webhook (exit \(status))") }
        return code
    }
}

extension String {
    func trimmingWhitespace() -> String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
