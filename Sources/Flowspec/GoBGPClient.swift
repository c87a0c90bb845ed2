import Foundation
import Spawn
import Packets

/// A BGP speaker Holon hands its flow specifications to.
public protocol FlowspecSpeaker: Sendable {
    func announce(_ r: FlowspecRule) throws(FlowspecError)
    func withdraw(_ r: FlowspecRule) throws(FlowspecError)
    /// What the speaker announces now, both families; nil when it cannot be read back.
    func announced() throws(FlowspecError) -> [FlowspecRule]?
}

extension FlowspecSpeaker {
    public func announced() throws(FlowspecError) -> [FlowspecRule]? { nil }
}

/// GoBGP (`gobgpd`) through its own command-line client, `gobgp`, which speaks the daemon's
/// gRPC API. Why the CLI and not grpc-swift-2: the protobufs and a gRPC stack would add minutes
/// to every clean build for a handful of calls a second at most, while `gobgp` is the daemon's
/// own client, ships in the same Debian package, and answers in ~10 ms — well inside the
/// one-second budget from XDP rule to router.
public struct GoBGPClient: FlowspecSpeaker {
    public var host: String
    public var port: Int
    public var executable: String

    public init(host: String = "127.0.0.1", port: Int = 50051, executable: String = "/usr/bin/gobgp") {
        self.host = host
        self.port = port
        self.executable = executable
    }

    /// Whether the daemon answers (its global settings).
    public func check() throws(FlowspecError) { _ = try run(["global"]) }

    public func announce(_ r: FlowspecRule) throws(FlowspecError) { _ = try run(r.gobgpAnnounce) }
    public func withdraw(_ r: FlowspecRule) throws(FlowspecError) { _ = try run(r.gobgpWithdraw) }

    /// The flow specifications in the speaker's RIB (what a router received from its peers, or
    /// what this speaker announces), read back from `gobgp … -j` into the model.
    public func rib(_ family: FlowspecRule.Family) throws(FlowspecError) -> [FlowspecRule] {
        let out = try run(["global", "rib", "-a", "\(family.rawValue)-flowspec", "-j"])
        return try Self.parseRIB(out, family: family)
    }

    /// The speaker's own RIB: what it announces.
    public func announced() throws(FlowspecError) -> [FlowspecRule]? { try rib(.ipv4) + rib(.ipv6) }

    /// Runs `gobgp -u HOST -p PORT ARGS…`; its output, or its error as one line.
    func run(_ args: [String]) throws(FlowspecError) -> Data {
        let r: Spawn.Output
        do { r = try Spawn.run(executable, ["-u", host, "-p", String(port)] + args) } catch {
            throw FlowspecError("gobgp: \(error) (Debian package gobgpd)")
        }
        guard r.status == 0 else {
            // gobgp writes some failures ("context deadline exceeded") to standard output.
            let said = r.stderr.isEmpty ? r.stdoutText : r.stderrText
            let line = said.split(separator: "\n").first.map(String.init) ?? "exit \(r.status)"
            throw FlowspecError("gobgp at \(host):\(port): \(line)")
        }
        return r.stdout
    }

    /// `{"[destination: …]…": [{"nlri": {"value": [{"type": 1, "value": {"prefix": …}}, {"type": 5,
    /// "value": [{"op": 129, "value": 53}]}]}, "attrs": [{"type": 16, "value": [{"rate": 0, …}]}]}]}`:
    /// the operator bytes as on the wire, so what the peer decoded is compared, not its printout.
    public static func parseRIB(_ data: Data, family: FlowspecRule.Family) throws(FlowspecError) -> [FlowspecRule] {
        if data.isEmpty || data.allSatisfy({ $0 == 0x0A || $0 == 0x20 }) { return [] }
        guard let top = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw FlowspecError("gobgp: the RIB is not the JSON object expected")
        }
        var rules: [FlowspecRule] = []
        for (key, value) in top {
            guard let paths = value as? [[String: Any]], let best = paths.first(where: { $0["best"] as? Bool ?? true }) ?? paths.first,
                  let nlri = best["nlri"] as? [String: Any], let comps = nlri["value"] as? [[String: Any]] else {
                throw FlowspecError("gobgp: route \(key) has no NLRI")
            }
            var components: [FlowspecComponent] = []
            for c in comps {
                guard let tb = c["type"] as? Int, let t = FlowspecType(rawValue: UInt8(clamping: tb)) else {
                    throw FlowspecError("gobgp: route \(key): unknown component \(c["type"] ?? "?")")
                }
                if t.isPrefix {
                    guard let v = c["value"] as? [String: Any], let text = v["prefix"] as? String, let p = IPPrefix(text) else {
                        throw FlowspecError("gobgp: route \(key): prefix of \(t.keyword) unreadable")
                    }
                    components.append(.prefix(t, p))
                } else {
                    guard let ops = c["value"] as? [[String: Any]] else { throw FlowspecError("gobgp: route \(key): operators of \(t.keyword) unreadable") }
                    let pairs = ops.map { (UInt8(clamping: $0["op"] as? Int ?? 0), UInt64(clamping: $0["value"] as? Int ?? 0)) }
                    components.append(t.isBitmask ? .bitmask(t, pairs.map { BitmaskOp(opByte: $0.0, value: $0.1) })
                                                   : .numeric(t, pairs.map { NumericOp(opByte: $0.0, value: $0.1) }))
                }
            }
            var rate: Float?
            for a in best["attrs"] as? [[String: Any]] ?? [] where a["type"] as? Int == 16 {
                for ext in a["value"] as? [[String: Any]] ?? [] where ext["subtype"] as? Int == 6 {
                    rate = (ext["rate"] as? NSNumber)?.floatValue
                }
            }
            guard let rate else { throw FlowspecError("gobgp: route \(key) carries no traffic-rate action") }
            rules.append(FlowspecRule(family: family, components: components, action: .trafficRate(bytesPerSecond: rate)))
        }
        return rules
    }
}
