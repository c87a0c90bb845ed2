import Testing
import Holon
import Foundation

/// An accumulator left to decay (a stream gone quiet), or fed while it decays for a long time:
/// its views must stay what the algebra says. Found in the live loop: decayed in place, a silent
/// link's window sank into `Float`'s subnormals, its cosine with the baseline read -0.18 (drift
/// beyond 1) and it opened an incident.
@Suite struct AccumulatorFadeTests {
    let space = VectorSpace(dimension: 4096, seed: 7)

    /// A stream of records sharing some atoms, and a second accumulator to compare with.
    func filled() -> (Accumulator, Accumulator) {
        var a = Accumulator(dimension: 4096), b = Accumulator(dimension: 4096)
        for i in 0..<200 {
            let v = Hypervector.bundle([space.atom("common"), space.atom(i % 13), space.atom("x\(i % 5)")])
            a.add(v)
            if i % 3 == 0 { b.add(v) }
        }
        return (a, b)
    }

    /// Decaying rescales every view's numerator and denominator alike: cosine and presence do
    /// not move, however far the content has faded (here 2⁻⁹⁰⁰, far past `Float`'s range; it
    /// failed from 2⁻⁶³ on when the lanes themselves were decayed).
    @Test func viewsHoldWhileContentFades() {
        let (fresh, other) = filled()
        let atom = space.atom("common")
        var a = fresh
        for step in 1...900 {
            a.decay(by: 0.5)
            guard step % 10 == 0 else { continue }
            #expect(abs(a.cosine(other) - fresh.cosine(other)) < 1e-6, "step \(step)")
            #expect(abs(other.cosine(a) - fresh.cosine(other)) < 1e-6, "step \(step)")
            #expect(abs(a.presence(of: atom) - fresh.presence(of: atom)) < 1e-6, "step \(step)")
            #expect(a.thresholded() == fresh.thresholded(), "step \(step)")
        }
        // What the sums are, as `Float` can say it: the true values rounded, 0 once below it.
        #expect(a.sums.allSatisfy { $0 == 0 })
        #expect(a.norm > 0 && a.norm < 1e-250)
    }

    /// Past `Double`'s range the content is forgotten, whole: empty (weight 0, every lane 0,
    /// every view 0), the count kept, and adding starts afresh.
    @Test func contentFadedPastDoubleIsForgotten() {
        var (a, other) = filled()
        // As a stream's clock moves on with nothing added: 100 ms steps, a 25 ms half-life.
        for t in 1...260 { a.decay(to: UInt64(t) * 100_000_000, halfLife: .milliseconds(25)) }
        #expect(a.weight == 0 && a.sums.allSatisfy { $0 == 0 } && a.norm == 0)
        #expect(a.cosine(other) == 0 && a.presence(of: space.atom("common")) == 0)
        #expect(a.count == 200, "count counts what was added, never decayed")
        let v = space.atom("again")
        a.add(v)
        #expect(abs(a.presence(of: v) - 1) < 1e-6 && a.sums.allSatisfy { abs($0) == 1 })
    }

    /// A window fed while it decays (the detector's: a sample, a decay, for ever) holds the
    /// recent samples' mean however long it runs: the lanes are rescaled as the weights added
    /// grow against them, never overflow, and its views match a window rebuilt from the last
    /// samples alone.
    @Test func aWindowFedForeverStaysExact() {
        let vs = (0..<7).map { space.atom("v\($0)") }
        var window = Accumulator(dimension: 4096)
        for i in 0..<20_000 {
            window.decay(by: 0.5)
            window.add(vs[i % 7])
        }
        // Weights 2⁻ᵏ for the k-th sample back: the last 60 hold all but 2⁻⁶⁰ of it.
        var rebuilt = Accumulator(dimension: 4096)
        for i in (20_000 - 60)..<20_000 {
            rebuilt.decay(by: 0.5)
            rebuilt.add(vs[i % 7])
        }
        #expect(abs(window.weight - rebuilt.weight) < 1e-9)
        #expect(abs(window.cosine(rebuilt) - 1) < 1e-6)
        for v in vs { #expect(abs(window.presence(of: v) - rebuilt.presence(of: v)) < 1e-6) }
        #expect(window.sums.allSatisfy { $0.isFinite })
    }

    /// Weights far from 1 either way (probabilities of 1e-30, counts of 1e30) are held as
    /// exactly as weights of 1: the lanes' scale follows what is added.
    @Test func weightsOfAnyMagnitude() {
        let a = space.atom("a"), b = space.atom("b")
        for w in [1e-30, 1e-12, 1.0, 1e12, 1e30] {
            var acc = Accumulator(dimension: 4096)
            acc.add(a, weight: 3 * w)
            acc.add(b, weight: w)
            #expect(abs(acc.presence(of: a) - 0.75) < 0.02, "w=\(w)")
            #expect(abs(acc.cosine(a) - 3 / 10.0.squareRoot()) < 0.02, "w=\(w)")
            #expect(abs(acc.norm / (10.0.squareRoot() * 64 * w) - 1) < 0.02, "w=\(w)")
        }
    }
}

@Suite struct AccumulatorScaleEdgeTests {
    let space = VectorSpace(dimension: 256, seed: 9)

    /// Content cancelled down to a tiny residue, then a far tinier addition: the lanes are
    /// rescaled by more than one `Float` factor holds (2¹¹⁰), in exact steps, nothing turns
    /// infinite, and the residue is what the accumulator holds.
    @Test func tinyResidueRescalesInSteps() {
        var acc = Accumulator(dimension: 256)
        acc.add(space.atom("a"), weight: 1)
        acc.add(space.atom("a"), weight: -1)
        acc.add(space.atom("b"), weight: 0x1p-110)
        acc.add(space.atom("c"), weight: 0x1p-240)
        #expect(acc.withLanes { l, _ in l.allSatisfy { $0.isFinite && ($0 == 0 || abs($0) >= 0.5) } })
        #expect(abs(acc.cosine(space.atom("b")) - 1) < 1e-6)
        #expect(abs(acc.norm / (0x1p-110 * 16) - 1) < 1e-6)
    }

    /// A weight whose factor underflows `Float` is not lost when the lanes hold nothing.
    @Test func aTinyWeightAfterCancellationIsKept() {
        var acc = Accumulator(dimension: 256)
        acc.add(space.atom("a"), weight: 1)
        acc.add(space.atom("a"), weight: -1)
        acc.add(space.atom("b"), weight: 0x1p-200)
        #expect(abs(acc.cosine(space.atom("b")) - 1) < 1e-6)
    }

    /// Merging an empty accumulator, however its scale stands, adds nothing (no 0 × ∞).
    @Test func mergingEmptyAddsNothing() {
        var acc = Accumulator(dimension: 256), empty = Accumulator(dimension: 256)
        acc.add(space.atom("a"), weight: 1e-300)   // lane unit 2⁻⁹⁹⁶: 1e300 × it overflows Float
        empty.decay(by: 0.5)
        acc.merge(empty, scaledBy: 1e300)
        #expect(acc.withLanes { l, _ in l.allSatisfy { $0.isFinite } })
        #expect(abs(acc.cosine(space.atom("a")) - 1) < 1e-6)
        // 1e300 on top of 1e-300: their ratio is past Double; the tiny content gives way.
        acc.add(space.atom("b"), weight: 1e300)
        #expect(acc.withLanes { l, _ in l.allSatisfy { $0.isFinite } })
        #expect(abs(acc.cosine(space.atom("b")) - 1) < 1e-6 && acc.norm.isFinite)
    }
}

/// The lanes-and-scale representation against a plain `Double` model of the same sums: random
/// adds (weights from 1e-30 to 1e30, either sign), decays (some deep), merges and resets. Every
/// view must agree with the model's to `Float` precision of the largest term still held.
@Suite struct AccumulatorModelTests {
    struct Model {
        var sums: [Double]
        var weight = 0.0
        mutating func add(_ v: Hypervector, _ w: Double) {
            let vals = v.values
            for i in sums.indices { sums[i] += w * Double(vals[i]) }
            weight += w
        }
        mutating func decay(_ f: Double) {
            for i in sums.indices { sums[i] *= f }
            weight *= f
        }
        var norm: Double { sums.reduce(0) { $0 + $1 * $1 }.squareRoot() }
        func dot(_ v: Hypervector) -> Double { zip(sums, v.values).reduce(0) { $0 + $1.0 * Double($1.1) } }
    }

    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8] as [UInt64])
    func randomOperationsMatchTheModel(seed: UInt64) {
        let d = 256
        let space = VectorSpace(dimension: d, seed: seed)
        let atoms = (0..<8).map { space.atom($0) }
        var rng = Xoshiro256(seed: seed)
        func uniform() -> Double { Double(rng.next() >> 11) / Double(1 << 53) }
        var acc = Accumulator(dimension: d), model = Model(sums: [Double](repeating: 0, count: d))
        var other = Accumulator(dimension: d), otherModel = Model(sums: [Double](repeating: 0, count: d))
        for step in 0..<400 {
            let r = rng.next() % 10
            if r < 5 {
                let w = (rng.next() & 1 == 0 ? 1 : -1) * pow(10, uniform() * 60 - 30) * (r == 0 ? 1e-12 : 1)
                let v = atoms[Int(rng.next() % 8)]
                acc.add(v, weight: w); model.add(v, w)
                if rng.next() % 3 == 0 { other.add(v, weight: w); otherModel.add(v, w) }
            } else if r < 8 {
                let f = rng.next() % 4 == 0 ? pow(2, -uniform() * 200) : uniform()
                acc.decay(by: f); model.decay(f)
            } else if r < 9 {
                let k = pow(10, uniform() * 20 - 10)
                acc.merge(other, scaledBy: k)
                for i in model.sums.indices { model.sums[i] += k * otherModel.sums[i] }
                model.weight += k * otherModel.weight
            } else if rng.next() % 8 == 0 {
                acc.reset(); model = Model(sums: [Double](repeating: 0, count: d))
            }
            // Float keeps 24 bits of the largest term added since it was small: compare with
            // the model's norm as the yardstick (sums that cancelled are noise in both).
            let n = model.norm
            guard n > 0, n.isFinite, n > 1e-280 else { continue }
            let got = acc.norm
            #expect(abs(got - n) <= 1e-3 * n + 1e-5 * n, "seed \(seed) step \(step): norm \(got) vs \(n)")
            let v = atoms[step % 8]
            let dm = model.dot(v), da = acc.dot(v)
            #expect(abs(da - dm) <= 1e-4 * n * Double(d).squareRoot(), "seed \(seed) step \(step): dot \(da) vs \(dm)")
            #expect(acc.withLanes { l, s in s > 0 && l.allSatisfy { $0.isFinite } }, "seed \(seed) step \(step)")
        }
    }
}
