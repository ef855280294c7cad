// volley-conformance: runs volley's WebSocket implementation against conformance suites.
//   volley-conformance autobahn-client ws://127.0.0.1:9001 [AGENT]
// (../shared/tools/autobahn_client.sh -- volley-conformance autobahn-client {URL} {AGENT})
import Net
import WebSocket
#if canImport(Glibc)
import Glibc
#endif

ProcessSetup.ignoreBrokenPipes()
let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.count >= 2, arguments[0] == "autobahn-client", let url = WebSocketURL(arguments[1]) else {
    print("usage: volley-conformance autobahn-client ws://HOST:PORT [AGENT]")
    exit(2)
}
do {
    let loop = try EventLoop()
    let client = try AutobahnClient(base: url, agent: arguments.count > 2 ? arguments[2] : "volley", loop: loop)
    _ = try client.run()
} catch {
    print("volley-conformance: \(error)")
    exit(1)
}
