import Foundation
import Testing
import Holon

@Suite struct EngramLibraryTests {
    /// A pattern: its own random mean (lanes ±3 scale) and two directions of variation.
    struct Pattern {
        var source: LowRankSource
        let offset: [Double]
        init(_ id: Int, dimension d: Int) {
            source = LowRankSource(dimension: d, scales: [2, 1], noise: 0.1, seed: UInt64(1000 + id))
            var rng = Xoshiro256(seed: UInt64(5000 + id))
            offset = (0..<d).map { _ in (Double(rng.next() >> 11) / 0x1p53 - 0.5) * 6 }
        }
        mutating func sample() -> [Double] {
            var x = source.sample()
            for j in x.indices { x[j] += offset[j] }
            return x
        }
    }

    @Test func recallsTheRightEngramAndRejectsNovelProbes() throws {
        let d = 64
        var library = EngramLibrary()
        var patterns = (0..<100).map { Pattern($0, dimension: d) }
        for i in patterns.indices {
            var s = OnlineSubspace(dimension: d, rank: 2)
            for _ in 0..<300 { s.update(patterns[i].sample()) }
            library.store("p\(i)", subspace: s, metadata: ["kind": i % 2 == 0 ? "even" : "odd"])
        }
        // Known patterns: 5 probes each, only 8 of the 100 residuals computed per probe.
        var right = 0, fits = 0, inPrefilter = 0
        for i in patterns.indices {
            for _ in 0..<5 {
                let probe = patterns[i].sample()
                if library.prefilter(probe, candidates: 8).contains(i) { inPrefilter += 1 }
                let best = library.match(probe, candidates: 8)[0]
                if best.name == "p\(i)" { right += 1 }
                if best.name == "p\(i)" && best.fits { fits += 1 }
            }
        }
        #expect(inPrefilter == 500)    // the pre-filter never drops the right engram
        #expect(right == 500)
        // Surprise ≤ 1 is mean + 3σ of the pattern's own residuals: ≈ 99 % of its probes fit.
        #expect(fits >= 485, "\(fits) of 500 fit their engram")
        // Novel patterns: the best candidate is still surprised.
        var falseMatches = 0
        for j in 0..<200 {
            var novel = Pattern(10_000 + j, dimension: d)
            if library.match(novel.sample(), candidates: 8)[0].fits { falseMatches += 1 }
        }
        #expect(falseMatches == 0, "\(falseMatches) of 200 novel probes matched")
        // The pre-filter keeps the best candidates while it scans; it equals a full sort of
        // the sign-pattern cosines (ties to the earlier engram), recomputed here from the means.
        func signs(_ x: [Double]) -> Hypervector { Hypervector(values: x.map { $0 > 0 ? 1 : $0 < 0 ? -1 : 0 }) }
        for i in stride(from: 0, to: 100, by: 10) {
            let probe = patterns[i].sample()
            let scores = library.engrams.enumerated().map { (i: $0.offset, s: Similarity.cosine(signs(probe), signs($0.element.subspace.mean))) }
            let reference = scores.sorted { $0.s != $1.s ? $0.s > $1.s : $0.i < $1.i }.map(\.i)
            #expect(library.prefilter(probe, candidates: 8) == Array(reference.prefix(8)))
            #expect(library.prefilter(probe, candidates: 100) == reference)
        }
        // Saved and loaded, it answers the same.
        let loaded = try JSONDecoder().decode(EngramLibrary.self, from: JSONEncoder().encode(library))
        let probe = patterns[7].sample()
        #expect(loaded.match(probe) == library.match(probe))
        #expect(loaded.engrams[3].metadata["kind"] == "odd")
    }

    @Test func storingTheSameNameReplaces() {
        var library = EngramLibrary()
        let s = OnlineSubspace(dimension: 4, rank: 1)
        library.store("a", subspace: s)
        library.store("a", subspace: s, metadata: ["v": "2"])
        #expect(library.count == 1 && library.engrams[0].metadata["v"] == "2")
    }
}
