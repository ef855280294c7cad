import Foundation

/// A rehearsal cluster built by `deploy/netns-cluster.sh`: agents and a target in their own
/// network namespaces, with their own addresses, as separate hosts would be.
public final class NetnsCluster: @unchecked Sendable {
    public let agents: String
    public let tokenFile: String
    public let targetHost: String
    /// The target's certificate (a cluster built with `tls`), for `--tls-ca`.
    public let targetCertificate: String?
    private let script = Repository.root + "/deploy/netns-cluster.sh"
    private let environment: [String: String]

    /// Why a cluster cannot be built here (not root, no iproute2, no namespaces), or nil.
    public static let unavailableReason: String? = {
        guard getuid() == 0 else { return "needs root for network namespaces (CI runs as root)" }
        guard let ip = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            return "needs iproute2 (ip)"
        }
        let probe = "volley-probe-\(getpid())"
        guard let added = try? Subprocess.spawnAndWait(ip, ["netns", "add", probe]), added.status == 0 else {
            return "cannot create a network namespace here"
        }
        _ = try? Subprocess.spawnAndWait(ip, ["netns", "del", probe])
        return nil
    }()

    /// Builds the cluster with `agents` agent hosts and a target with `workers` workers, running
    /// this build's `volley`; state and logs go to a fresh directory.
    public init(agents count: Int, workers: Int, tls: Bool = false) throws {
        let state = NSTemporaryDirectory() + "volley-netns-\(UUID().uuidString)"
        environment = ["VOLLEY_NETNS_STATE": state]
        let up = try Subprocess.spawnAndWait("/bin/bash", [script, "up", "--agents", "\(count)", "--workers", "\(workers)",
                                                           "--binary", VolleyProcess.binary] + (tls ? ["--tls"] : []),
                                             environment: environment)
        guard up.status == 0, let text = Repository.readText(state + "/cluster.env") else {
            throw HTTPGet.Failure(description: "deploy/netns-cluster.sh up failed (\(up.status)): \(up.output)")
        }
        var values: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            values[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        agents = values["VOLLEY_AGENTS"] ?? ""
        tokenFile = values["VOLLEY_TOKEN_FILE"] ?? ""
        targetHost = values["VOLLEY_TARGET_HOST"] ?? ""
        targetCertificate = values["VOLLEY_TLS_CA"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// `volley run SCENARIO` from this (the root) namespace on the cluster, with `extra` options.
    public func run(_ scenario: String, _ extra: [String] = [], timeout: Double = 300) throws -> VolleyRun {
        try VolleyRun.run(["run", scenario, "--quiet", "--agents", agents, "--token-file", tokenFile,
                           "--target-host", targetHost] + extra, timeout: timeout)
    }

    /// Stops every process of the cluster and removes its namespaces and bridge.
    public func down() {
        _ = try? Subprocess.spawnAndWait("/bin/bash", [script, "down"], environment: environment)
    }
}
