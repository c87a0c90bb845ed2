import Hummingbird
import Rules

/// What `GET /api/rules` was asked for: `?owner=sidecar|operator` (one owner's rules),
/// `?offset=K&limit=N` (a page of them, in table order). Without them, every rule: a blocklist
/// of a million is a 300 MB answer that takes seconds, which a program pages through instead
/// (a page shorter than `limit` is the last).
struct RulePage {
    static let maxLimit = 100_000

    var owner: String?
    var offset = 0
    var limit: Int?

    init(_ request: Request) throws {
        let q = request.uri.queryParameters
        if let o = q.get("owner") {
            guard OwnerTotals.owners.contains(o) else {
                throw Refusal(status: .badRequest, message: "owner must be \(OwnerTotals.owners.joined(separator: " or ")), got '\(o)'")
            }
            owner = o
        }
        if let o = q.get("offset") {
            guard let v = Int(o), v >= 0 else { throw Refusal(status: .badRequest, message: "offset must be a whole number from 0, got '\(o)'") }
            offset = v
        }
        if let l = q.get("limit") {
            guard let v = Int(l), (1...Self.maxLimit).contains(v) else {
                throw Refusal(status: .badRequest, message: "limit must be a whole number from 1 to \(Self.maxLimit), got '\(l)'")
            }
            limit = v
        }
    }

    /// The rules of `readings` on this page, each with its reading's index.
    func rules(of readings: [MetricsExporter.Reading], sidecarBase: UInt32) -> [(reading: Int, rule: Rule)] {
        var out: [(reading: Int, rule: Rule)] = []
        var skip = offset
        for (i, f) in readings.enumerated() {
            for r in f.rules where owner.map({ $0 == OwnerTotals.owner(of: r.id, sidecarBase: sidecarBase) }) ?? true {
                if skip > 0 {
                    skip -= 1
                    continue
                }
                if let limit, out.count == limit { return out }
                out.append((i, r))
            }
        }
        return out
    }
}
