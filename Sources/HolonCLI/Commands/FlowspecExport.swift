import Flowspec
import Packets
import Rules

/// `holon rules export --flowspec gobgp|exabgp`: one speaker command per rule, a comment for
/// each rule that cannot travel exactly.
enum FlowspecExport {
    /// `allowlist`: sources the host always passes; a rule that could match one is left out.
    static func commands(_ rules: [Rule], speaker: String, packetBytes: Int, allowlist: [IPPrefix] = []) -> String {
        let translator = FlowspecTranslator(packetBytes: packetBytes)
        var lines = ["# \(rules.count) rule(s) as BGP Flowspec for \(speaker) (rate limits at \(packetBytes) bytes per packet)"]
        for r in rules {
            if r.action != .pass, r.action != .count, let a = allowlist.first(where: { r.mayMatchSource(in: $0) }) {
                lines.append("# rule \(r.id) not exported: it could drop the allowlisted \(a) at the routers, which the host never drops; Flowspec carries no exception")
                continue
            }
            // An exception above it (a pass rule taking some of its packets) stays in the host's
            // table alone: at a router the route would drop what the host passes.
            let exceptions = r.action == .pass ? [] : r.exceptions(in: rules).map(\.id).sorted()
            if !exceptions.isEmpty {
                lines.append("# rule \(r.id) not exported: pass rule(s) \(exceptions.map(String.init).joined(separator: ", ")) above it take some of its packets; "
                             + "Flowspec carries no exception, so the route would drop at the routers what the host passes")
                continue
            }
            switch translator.translate(r, baseline: []) {
            case .exact(let fs):
                if speaker == "gobgp" {
                    lines.append((["gobgp"] + fs.gobgpAnnounce).map(shellWord).joined(separator: " "))
                } else {
                    lines.append(fs.exabgpAnnounce ?? "# rule \(r.id) not exported: ExaBGP's grammar cannot say \(fs.gobgpMatch.joined(separator: " "))")
                }
            case .widened(_, let dropped, _):
                lines.append("# rule \(r.id) not exported: Flowspec cannot carry \(dropped.joined(separator: " ")) (no baseline here to widen it against)")
            case .refused(let why):
                lines.append("# rule \(r.id) not exported: \(why)")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Quoted for a POSIX shell when it holds anything a shell would read.
    static func shellWord(_ w: String) -> String {
        w.allSatisfy { $0.isLetter || $0.isNumber || "-_./:".contains($0) } ? w : "'" + w.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
