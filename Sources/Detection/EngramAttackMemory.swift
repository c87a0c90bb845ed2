import Foundation
import Holon
import Packets

/// Which memory recognises a returning attack (issue 13: an engram library as attack memory).
public enum AttackMemoryKind: String, Sendable, CaseIterable {
    /// ``AttackMemory``: a remembered rule matching far above its baseline share, and the matched
    /// samples' vector within cosine 0.8 of the one remembered.
    case rules
    /// ``EngramAttackMemory``: the fresh samples fitting a remembered attack's subspace (residual
    /// at most its surprise) far more often than normal traffic does.
    case engrams
}

/// Attacks remembered as engrams (``EngramLibrary``): each incident's attack samples learned into
/// an ``OnlineSubspace`` of packet vectors, recalled when fresh samples fit it.
///
/// What an engram learns: once an incident has rules (derived, not recalled), the samples in the
/// ring its rules match from shortly before it opened on — the attack as attribution saw it — up
/// to ``learnLimit`` of them, each the packet's ±1 vector. Its surprise is the library's: mean +
/// 3σ of the stream's own residuals. Normal traffic's fit rate is measured then too, on the
/// baseline's reservoir (``baselineFit``), the way a rule's baseline share is.
///
/// Recall, per tick: up to ``probeLimit`` of the samples since the last tick are probed against
/// every engram whose rules are not in force; an engram is recalled when the share of probes that
/// fit it, times the samples, is far above what normal traffic's fit rate predicts (the margin
/// ``AttackMemory`` asks). Of several, the one the probes fit best (lowest mean surprise) — the
/// library answers "which", not only "is it one of these".
struct EngramAttackMemory {
    struct Entry {
        var rules: [DetectedRule]
        var name: String
        var firstIncident: Int
        var recalls = 0
        /// Share of baseline packets that fit the engram.
        var baselineFit: Double
        /// Frozen mean and orthonormal basis of the engram's subspace, and its surprise.
        var mean: [Double]
        var basis: [[Double]]
        var surprise: Double
    }

    static let capacity = 32
    static let learnLimit = 256
    static let minLearn = 24
    static let rank = 4
    static let probeLimit = 32
    static let baselineProbe = 512

    var library = EngramLibrary()
    var entries: [Entry] = []
    /// Incidents whose engram is learned (or that were recalls), and learned ones awaiting close.
    var handled = Set<Int>()
    var pending: [Int: Entry] = [:]
    var mark = 0
    var centred: [Double] = []
    var probe: [Double] = []

    /// `‖x − mean − projection‖` on a frozen engram.
    mutating func residual(_ x: [Double], _ e: Entry) -> Double {
        if centred.count != x.count { centred = [Double](repeating: 0, count: x.count) }
        var r2 = 0.0
        for i in x.indices { let c = x[i] - e.mean[i]; centred[i] = c; r2 += c * c }
        for b in e.basis {
            var c = 0.0
            for i in b.indices { c += centred[i] * b[i] }
            r2 -= c * c
        }
        return max(0, r2).squareRoot()
    }
}

extension Detector {
    /// The engram memory's tick: learn incidents that have rules, store those that closed, and
    /// look for remembered attacks in the samples since the last tick.
    mutating func engramTick(at t: UInt64) {
        if engrams == nil { engrams = EngramAttackMemory() }
        learnEngrams(at: t)
        recallEngrams(at: t)
    }

    static func vectorValues(_ f: PacketFeatures, into out: inout [Double], encoder: inout VectorEncoder, scratch: inout Hypervector) {
        encoder.encode(DetectorRecord(f), into: &scratch)
        let v = scratch.values
        if out.count != v.count { out = [Double](repeating: 0, count: v.count) }
        for i in v.indices { out[i] = Double(v[i]) }
    }

    mutating func learnEngrams(at t: UInt64) {
        for i in incidents.indices {
            let inc = incidents[i]
            if inc.closedAt != nil {
                guard var e = engrams!.pending.removeValue(forKey: inc.id) else { continue }
                guard inc.falsePositive == nil else { continue }
                e.name = inc.name
                let key = AttackMemory.key(e.rules)
                if let k = engrams!.entries.firstIndex(where: { AttackMemory.key($0.rules) == key }) {
                    engrams!.entries[k].name = inc.name
                    continue
                }
                engrams!.entries.append(e)
                if engrams!.entries.count > EngramAttackMemory.capacity { engrams!.entries.removeFirst() }
                continue
            }
            guard inc.announced, !inc.rules.isEmpty, !engrams!.handled.contains(inc.id) else { continue }
            engrams!.handled.insert(inc.id)
            let since = inc.openedAt &- 4 &* tickNs
            let samples = ring.last(ring.capacity).filter { f in
                f.timestamp >= since && inc.rules.contains { $0.matches(f) }
            }.suffix(EngramAttackMemory.learnLimit)
            guard samples.count >= EngramAttackMemory.minLearn else { continue }
            var model = OnlineSubspace(dimension: config.dimension, rank: EngramAttackMemory.rank,
                                       warmup: EngramAttackMemory.minLearn / 2)
            var x: [Double] = []
            for f in samples {
                Self.vectorValues(f, into: &x, encoder: &encoder, scratch: &vector)
                model.update(x)
            }
            engrams!.library.store("incident-\(inc.id)", subspace: model)
            let surprise = model.threshold(sigmas: 3)
            var e = EngramAttackMemory.Entry(rules: inc.rules, name: inc.name, firstIncident: inc.id, baselineFit: 0,
                                             mean: model.mean, basis: model.basis, surprise: surprise)
            // Normal traffic's fit rate, from the baseline's own packets.
            let reservoir = baseline.reservoir
            let step = max(1, reservoir.count / EngramAttackMemory.baselineProbe)
            var fit = 0, probed = 0
            for j in stride(from: 0, to: reservoir.count, by: step) {
                Self.vectorValues(reservoir[j], into: &x, encoder: &encoder, scratch: &vector)
                probed += 1
                if engrams!.residual(x, e) <= surprise { fit += 1 }
            }
            e.baselineFit = probed > 0 ? Double(fit) / Double(probed) : 0
            engrams!.pending[inc.id] = e
        }
    }

    mutating func recallEngrams(at t: UInt64) {
        let fresh = ring.written - engrams!.mark
        engrams!.mark = ring.written
        guard fresh > 0, !engrams!.entries.isEmpty else { return }
        let samples = ring.last(min(fresh, AttackMemory.lookLimit, ring.capacity))
        guard let first = samples.first?.timestamp, let last = samples.last?.timestamp else { return }
        let seconds = max(Double(last &- first), Double(tickNs)) / 1e9
        let active = Set(activeRules.map { Set($0.rule.predicates) })
        let candidates = engrams!.entries.indices.filter { k in
            !engrams!.entries[k].rules.contains { active.contains(Set($0.predicates)) }
        }
        guard !candidates.isEmpty else { return }
        // The newest samples, evenly spread over what arrived.
        let step = max(1, samples.count / EngramAttackMemory.probeLimit)
        var fits = [Int](repeating: 0, count: engrams!.entries.count)
        var surpriseSum = [Double](repeating: 0, count: engrams!.entries.count)
        var probes = 0
        var x = engrams!.probe
        for j in stride(from: samples.count - 1, through: 0, by: -step) {
            if probes >= EngramAttackMemory.probeLimit { break }
            probes += 1
            Self.vectorValues(samples[j], into: &x, encoder: &encoder, scratch: &vector)
            for k in candidates {
                let e = engrams!.entries[k]
                let s = engrams!.residual(x, e) / max(e.surprise, 1e-9)
                if s <= 1 { fits[k] += 1; surpriseSum[k] += s }
            }
        }
        engrams!.probe = x
        var best: (k: Int, score: Double)?
        for k in candidates where fits[k] > 0 {
            let covered = Double(fits[k]) / Double(probes) * Double(samples.count)
            let predicted = engrams!.entries[k].baselineFit * baseline.sampleRate * seconds
            guard covered > 3 * predicted + 5 * predicted.squareRoot() + AttackMemory.floor else { continue }
            let score = surpriseSum[k] / Double(fits[k])
            if best == nil || score < best!.score { best = (k, score) }
        }
        guard let (k, score) = best else { return }
        reinstateEngram(k, at: t, fitShare: Double(fits[k]) / Double(probes), surprise: score)
    }

    mutating func reinstateEngram(_ k: Int, at t: UInt64, fitShare: Double, surprise: Double) {
        engrams!.entries[k].recalls += 1
        let entry = engrams!.entries[k]
        let note = String(format: "recalled: incident %d's rule, its engram fits %.0f%% of fresh samples (mean surprise %.2f)",
                          entry.firstIncident, fitShare * 100, surprise)
        let id = reinstate(entry.rules, name: entry.name, at: t, note: note)
        engrams!.handled.insert(id)
    }
}
