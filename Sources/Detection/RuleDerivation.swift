import Packets
import Rules

/// A rule the detector proposes: a conjunction of candidates, checked against the baseline.
struct DerivedRule: Sendable {
    var predicates: [Candidate]
    /// Share of the recent unexplained samples it matches.
    var recentShare: Double
    /// Share of baseline packets it matches (what it would cost normal traffic).
    var baselineShare: Double
    /// Baseline packets per second it matches: the base of its rate limit.
    var baselinePps: Double
    /// Presence of each predicate in recent vs baseline vectors (nil when not encoded).
    var presence: [Candidate: (recent: Double, baseline: Double)]
    /// Sources the rule passes (``SparedSources``): steady senders of what it matches in the
    /// baseline. `baselineShare` is what is left once they are spared.
    var spared: [IPAddress] = []
    /// The rules for the other parts of the same change when it was split
    /// (``RuleDeriver/derivePart(from:whole:)``): installed together, one attack's rules.
    var siblings: [DerivedRule] = []
}

/// Finds the smallest conjunction that covers what is new and spares what was normal.
///
/// 1. Candidates are the values (and source prefixes, and "non-first fragment") that are common
///    in the recent unexplained samples and at least twice as common there as in the baseline.
/// 2. The vectors decide: a candidate that is encoded must also have gained presence in the
///    recent accumulator relative to the baseline accumulator.
/// 3. Greedy: keep every step's coverage of the recent samples within 3 % of the best possible,
///    and among those prefer the most descriptive field (protocol, ports, flags before
///    destination before fingerprints before sources) that cuts baseline matches; stop once the
///    rule matches at most `spareShare` of baseline traffic.
/// 4. Prune: drop any non-signature predicate the rule does not need.
/// 5. When that rule cannot both cover the change and spare normal traffic: the same greedy with
///    the sources that send the rule's traffic steadily in the baseline spared (``SparedSources``;
///    they get `pass` exceptions), then a split into the fewest parts by what a packet is
///    (``derivePart(from:whole:)``), then payload bytes, then the header rule as a rate limit.
struct RuleDeriver {
    let baseline: Baseline
    let spareShare: Double
    /// Baseline packets per second (sample rate × sampling rate).
    let baselinePps: Double
    /// Presence (recent, baseline) of a candidate, or nil when the detector does not encode it.
    let presence: (Candidate) -> (recent: Double, baseline: Double)?
    /// Seed of the payload vectors; nil: no byte predicates.
    var payloadSeed: UInt64? = nil
    /// The share of the recent samples normal traffic accounts for at its baseline rate (set by
    /// the caller from the samples' time span): a rule for the change can cover at most the
    /// rest, so ``coverageNeeded`` asks 97 % of that.
    var normalShare = 0.0

    /// How many of `recent` normal traffic accounts for.
    func normalSamples(_ recent: [PacketFeatures]) -> Double { min(max(normalShare, 0), 1) * Double(recent.count) }

    /// The share of the recent samples a rule for the whole change must cover.
    var coverageNeeded: Double { 0.97 * (1 - min(max(normalShare, 0), 0.5)) }

    /// Whether rules matching `covered` of `n` recent samples cover the change: ``coverageNeeded``,
    /// or an uncovered rest no larger than normal traffic's expected count plus its Poisson noise
    /// (3σ) and the same 3 % slack. The normal share is itself estimated from a few samples: a
    /// SYN-ACK reflection's two parts covered 91.3 % of 254 samples whose normal share was
    /// estimated at 5.7 % (8.7 % in fact), under the bar of 91.5 %.
    func coversChange(_ covered: Int, of n: Int) -> Bool {
        if Double(covered) >= coverageNeeded * Double(n) { return true }
        let expected = min(max(normalShare, 0), 0.5) * Double(n)
        return Double(n - covered) <= expected + 3 * expected.squareRoot() + 0.03 * Double(n)
    }

    /// Field order for readability and for how an operator thinks about an attack.
    static func rank(_ f: RuleField) -> Int {
        switch f {
        case .proto: return 0
        case .tcpFlags, .icmpType, .icmpCode: return 1
        case .srcPort, .dstPort: return 2
        case .fragOffset, .mf: return 3
        case .dstIP: return 4
        case .sizeClass: return 5
        case .srcIP: return 7
        default: return 6   // header details: ttl, window, df, dscp, lengths, …
        }
    }

    /// Predicates that name the attack: never pruned.
    static func isSignature(_ c: Candidate) -> Bool {
        if case .bytes = c.kind { return true }
        switch c.field {
        case .proto, .tcpFlags, .icmpType: return true
        // A well-known source port names the service the traffic reflects off.
        case .srcPort: if case .equals(let v) = c.kind { return DetectorRecord.encodesExactly(port: v) } else { return false }
        default: return false
        }
    }

    /// How narrow a destination predicate is (an address beats any prefix, longer beats shorter).
    static func narrowness(_ c: Candidate) -> Int {
        switch c.kind {
        case .equals, .address: return 33
        case .prefix(_, let len): return len
        case .range, .bytes: return 0
        }
    }

    /// A rule must say what about the traffic is new, not only where it goes: "all UDP to the
    /// victim" is not a rule Holon writes while a fingerprint is available.
    static func describes(_ predicates: [Candidate]) -> Bool {
        predicates.contains { $0.field != .proto && $0.field != .dstIP }
    }

    func candidates(in recent: [PacketFeatures]) -> [Candidate] {
        let n = Double(recent.count)
        var out: [Candidate] = []
        var counts: [UInt64: Int] = [:]
        var v6: [UInt64: IPAddress] = [:]
        for field in Candidate.equalityFields {
            counts.removeAll(keepingCapacity: true)
            v6.removeAll(keepingCapacity: true)
            for p in recent {
                guard let v = field.value(in: p) else { continue }
                counts[v, default: 0] += 1
                if field.isAddress, case .v6 = field == .srcIP ? p.srcIP : p.dstIP { v6[v] = field == .srcIP ? p.srcIP : p.dstIP }
            }
            for (v, c) in counts where Double(c) / n >= 0.1 {
                out.append(Candidate(field: field, kind: v6[v].map { .address($0) } ?? .equals(v)))
            }
        }
        for len in 8...24 {
            counts.removeAll(keepingCapacity: true)
            for p in recent { if case .v4(let a) = p.srcIP { counts[UInt64(a >> UInt32(32 - len)), default: 0] += 1 } }
            for (v, c) in counts where Double(c) / n >= 0.1 {
                out.append(Candidate(field: .srcIP, kind: .prefix(network: UInt32(v) << UInt32(32 - len), length: len)))
            }
        }
        for len in [16, 24, 26, 28, 30] {
            counts.removeAll(keepingCapacity: true)
            for p in recent { if case .v4(let a) = p.dstIP { counts[UInt64(a >> UInt32(32 - len)), default: 0] += 1 } }
            for (v, c) in counts where Double(c) / n >= 0.1 {
                out.append(Candidate(field: .dstIP, kind: .prefix(network: UInt32(v) << UInt32(32 - len), length: len)))
            }
        }
        let nonFirst = recent.reduce(0) { $0 + ($1.fragOffset != 0 ? 1 : 0) }
        if Double(nonFirst) / n >= 0.1 { out.append(Candidate(field: .fragOffset, kind: .range(1, 8191))) }
        return out
    }

    /// The rule for `recent`: from its headers when they set it apart from normal traffic;
    /// otherwise from the bytes its payloads share (``PayloadDeriver``), scoped to where it goes;
    /// otherwise the header rule, which then becomes a rate limit.
    func derive(from recent: [PacketFeatures]) -> DerivedRule? {
        let headers = deriveHeaders(from: recent)
        // A header rule that spares normal traffic and covers (nearly) the whole change is the
        // rule. One that covers only part of it (a size class of a flood of random sizes) or
        // cannot spare normal traffic loses to a byte rule that covers more and spares it all.
        // (Only one that says what the traffic is: "all UDP to the host" loses to the bytes of a
        // marker flood at a host normal traffic never reaches.)
        if let h = headers, Self.describes(h.predicates), h.baselineShare <= spareShare, h.recentShare >= 0.97 { return h }
        // Next best: one rule for the whole change that spares normal traffic by sparing the few
        // sources that send it steadily (a site's own resolvers among a DNS carpet bombing).
        if let s = deriveHeaders(from: recent, sparing: true), !s.spared.isEmpty,
           s.baselineShare <= spareShare, s.recentShare >= coverageNeeded { return s }
        // Then the fewest rules of which this is the first (``derivePart(from:whole:)``).
        let part = derivePart(from: recent, whole: headers)
        guard let p = derivePayload(from: recent) else { return part ?? headers }
        if let part, part.baselineShare <= spareShare || p.recentShare < 0.97 { return part }
        guard let h = headers, h.baselineShare <= spareShare, Self.describes(h.predicates) else { return p }
        return p.recentShare > h.recentShare ? p : h
    }

    func derivePayload(from recent: [PacketFeatures]) -> DerivedRule? {
        guard let seed = payloadSeed, recent.count >= 16, !baseline.reservoir.isEmpty else { return nil }
        let vectors = PayloadVectors(recent: recent, reservoir: baseline.reservoir, seed: seed)
        let deriver = PayloadDeriver(reservoir: baseline.reservoir, presence: vectors.presence)
        guard let found = deriver.derive(from: recent) else { return nil }
        let bytes = Candidate(field: .payloadLen, kind: .bytes(found.match))
        var curR = PacketSet(recent, matching: bytes)
        var chosen = [bytes]
        if let s = scope(curR, in: recent) {
            chosen.append(s)
            curR = curR.intersection(PacketSet(recent, matching: s))
        }
        chosen.sort { Self.rank($0.field) < Self.rank($1.field) }
        return DerivedRule(
            predicates: chosen,
            recentShare: Double(curR.population) / Double(recent.count),
            baselineShare: 0,
            baselinePps: 0,
            presence: [bytes: found.presence])
    }

    /// The narrowest destination (an address, a candidate prefix, or the smallest prefix covering
    /// every destination) that keeps ≥ 97 % of `covered`: a rule is written for the hosts under
    /// attack, not for every host. nil when the attack's destinations span more than a /8.
    func scope(_ covered: PacketSet, in recent: [PacketFeatures]) -> Candidate? {
        let need = 0.97 * Double(covered.population)
        guard covered.population > 0 else { return nil }
        var options = candidates(in: recent).filter { $0.field == .dstIP }
        var lo = UInt32.max, hi = UInt32.min, allV4 = true
        for (i, f) in recent.enumerated() where covered.contains(i) {
            guard case .v4(let a) = f.dstIP else { allV4 = false; break }
            lo = min(lo, a)
            hi = max(hi, a)
        }
        if allV4 {
            let len = (lo ^ hi).leadingZeroBitCount
            if len >= 8 {
                options.append(len == 32 ? Candidate(field: .dstIP, kind: .equals(UInt64(lo)))
                                         : Candidate(field: .dstIP, kind: .prefix(network: lo & (UInt32.max << UInt32(32 - len)), length: len)))
            }
        }
        return options
            .filter { Double(covered.intersection(PacketSet(recent, matching: $0)).population) >= need }
            .max { Self.narrowness($0) < Self.narrowness($1) }
    }

    /// The greedy conjunction. `sparing`: baseline traffic from sources steady in it for what
    /// the rule matches does not count against the rule (they become its exceptions).
    func deriveHeaders(from recent: [PacketFeatures], sparing: Bool = false) -> DerivedRule? {
        guard recent.count >= 16, !baseline.reservoir.isEmpty else { return nil }
        let recentAll = PacketSet(count: recent.count, all: true)
        let baseAll = PacketSet(count: baseline.reservoir.count, all: true)
        var pool: [(c: Candidate, recent: PacketSet, base: PacketSet, jump: Double)] = []
        var presences: [Candidate: (recent: Double, baseline: Double)] = [:]
        for c in candidates(in: recent) {
            let r = PacketSet(recent, matching: c)
            let b = PacketSet(baseline.reservoir, matching: c)
            let rs = Double(r.population) / Double(recent.count)
            guard rs >= 2 * baseline.share(b) else { continue }
            var jump = 0.0
            if let p = presence(c) {
                presences[c] = p
                jump = p.recent - p.baseline
                guard Attribution.gained(p) else { continue }  // the vectors decide
            }
            pool.append((c, r, b, jump))
        }
        guard !pool.isEmpty else { return nil }

        // What of the baseline a conjunction costs: all it matches, or with sparing what is left
        // once its steady sources are spared.
        func cost(_ r: PacketSet, _ b: PacketSet) -> Double {
            guard sparing, let s = SparedSources.find(base: b, reservoir: baseline.reservoir, covered: r, recent: recent,
                                                               normalSamples: normalSamples(recent))
            else { return baseline.share(b) }
            return baseline.share(s.rest)
        }
        var chosen: [Candidate] = []
        var curR = recentAll, curB = baseAll
        while chosen.count < 8 {
            if Self.describes(chosen) && cost(curR, curB) <= spareShare { break }
            let options = pool.filter { o in !chosen.contains(o.c) && !chosen.contains { $0.field == o.c.field && $0.kind == o.c.kind } }
                .map { o in (o: o, r: curR.intersection(o.recent), b: curB.intersection(o.base)) }
            guard let bestR = options.map({ $0.r.population }).max(), bestR > 0 else { break }
            let needDescriptor = !Self.describes(chosen)
            var useful = options.filter {
                Double($0.r.population) >= 0.97 * Double(bestR)
                    && ($0.b.population < curB.population || (needDescriptor && Self.describes([$0.o.c])))
            }
            // No descriptor keeps the coverage, yet the rule says only where the traffic goes: a
            // field that names what a packet is (its flags, a service port) may still name most
            // of it, the rest being another part of the attack (``derivePart(from:whole:)``).
            // SYN-ACKs and RST-ACKs to a host normal traffic never reaches were "all TCP to it".
            // Fingerprint fields (DF, TTL: random per packet in a randomized flood) are not.
            if useful.isEmpty && needDescriptor {
                let kinds = options.filter { Self.splitFields.contains($0.o.c.field) }
                if let best = kinds.map({ $0.r.population }).max(), best > 0 {
                    useful = kinds.filter { Double($0.r.population) >= 0.97 * Double(best) }
                }
            }
            guard let pick = useful.min(by: { a, b in
                let ra = Self.rank(a.o.c.field), rb = Self.rank(b.o.c.field)
                if ra != rb { return ra < rb }
                if a.b.population != b.b.population { return a.b.population < b.b.population }
                if a.o.c.specificity != b.o.c.specificity { return a.o.c.specificity > b.o.c.specificity }
                return a.o.jump > b.o.jump
            }) else { break }
            chosen.append(pick.o.c)
            curR = pick.r
            curB = pick.b
        }
        // A rule that cannot spare normal traffic entirely is still returned: its action becomes
        // a rate limit at the rate normal traffic needs, never a drop.
        guard !chosen.isEmpty else { return nil }

        // Scope the rule to the destination under attack when there is one: the narrowest
        // destination that keeps the coverage (an exact rule, not a network-wide one).
        // Normal traffic to the victim may be as common as the attack there, so the candidates
        // are all destinations, not only the pool's (which had to be twice as common).
        if !chosen.contains(where: { $0.field == .dstIP }), let s = scope(curR, in: recent) {
            let r = PacketSet(recent, matching: s), b = PacketSet(baseline.reservoir, matching: s)
            pool.append((s, r, b, 0))
            chosen.append(s)
            curR = curR.intersection(r)
            curB = curB.intersection(b)
        }

        // Prune what the rule does not need, least descriptive first.
        // The destination stays: a rule scoped to the victim is the exact one.
        for c in chosen.sorted(by: { Self.rank($0.field) > Self.rank($1.field) })
        where !Self.isSignature(c) && c.field != .dstIP && chosen.count > 2 {
            let rest = chosen.filter { $0 != c }
            guard Self.describes(rest) else { continue }
            var r = recentAll, b = baseAll
            for x in rest {
                let e = pool.first { $0.c == x }!
                r = r.intersection(e.recent)
                b = b.intersection(e.base)
            }
            if cost(r, b) <= max(spareShare, cost(curR, curB)) {
                chosen = rest
                curR = r
                curB = b
            }
        }
        // A prefix implied by a narrower predicate on the same field (the exact address inside
        // it, a longer prefix) matches nothing less: keep only the narrower one.
        let picked = chosen
        chosen.removeAll { c in
            guard case .prefix(let net, let len) = c.kind else { return false }
            let mask: UInt32 = len == 0 ? 0 : UInt32.max << UInt32(32 - len)
            return picked.contains { o in
                guard o != c, o.field == c.field else { return false }
                switch o.kind {
                case .equals(let v): return UInt32(truncatingIfNeeded: v) & mask == net
                case .prefix(let n2, let l2): return l2 > len && n2 & mask == net
                case .range, .bytes, .address: return false
                }
            }
        }
        chosen.sort { Self.rank($0.field) < Self.rank($1.field) }
        var spared: [IPAddress] = []
        if sparing, let s = SparedSources.find(base: curB, reservoir: baseline.reservoir, covered: curR, recent: recent,
                                                        normalSamples: normalSamples(recent)) {
            spared = s.sources
            curB = s.rest
        }
        let bs = baseline.share(curB)
        return DerivedRule(
            predicates: chosen,
            recentShare: Double(curR.population) / Double(recent.count),
            baselineShare: bs,
            baselinePps: bs * baselinePps,
            presence: presences.filter { chosen.contains($0.key) },
            spared: spared)
    }
}
