import Foundation
import Testing
import Holon

/// The engram library at the size an attack memory reaches: 2,000 engrams.
@Suite struct EngramScaleTests {
    @Test func twoThousandEngrams() {
        let d = 64, n = 2000
        var library = EngramLibrary()
        var patterns = (0..<n).map { EngramLibraryTests.Pattern($0, dimension: d) }
        let clock = ContinuousClock()
        let trainStart = clock.now
        for i in patterns.indices {
            // 64 samples: the model forms in the first 24 (warm-up), the threshold comes from 40.
            var s = OnlineSubspace(dimension: d, rank: 2, warmup: 24)
            for _ in 0..<64 { s.update(patterns[i].sample()) }
            library.store("p\(i)", subspace: s)
        }
        let trained = clock.now - trainStart
        #expect(library.count == n)

        // One probe from each of 1,000 stored patterns (every second one).
        var recalled = 0, wrong = 0, examined = 0, bestRight = 0
        let probeStart = clock.now
        for i in stride(from: 0, to: n, by: 2) {
            let probe = patterns[i].sample()
            let r = library.recall(probe, candidates: 8)
            examined += r.examined
            if let m = r.match { if m.name == "p\(i)" { recalled += 1 } else { wrong += 1 } }
            if library.match(probe, candidates: 8).first?.name == "p\(i)" { bestRight += 1 }
        }
        let probed = clock.now - probeStart
        // Fitting is mean + 3σ of a pattern's own 40 residuals: ≈ 99 % of its probes fit
        // (the residual's tail is lighter than a Gaussian's: measured 1000 of 1000).
        #expect(recalled >= 985, "\(recalled) of 1000 recalled")
        #expect(wrong == 0, "\(wrong) of 1000 recalled as another engram")
        #expect(bestRight == 1000, "least surprising candidate right for \(bestRight) of 1000")
        // Pruning: a stored probe fits its first candidate almost always, so the full residual
        // is computed for ≈ 1 engram of the 2,000 (0.05 %; measured 1.0 per probe), at most 8
        // (0.4 %).
        let share = Double(examined) / Double(1000 * n)
        #expect(share < 0.001, "residuals computed for \(share * 100) % of the library per probe")

        // 500 probes of patterns never stored: none fits any candidate.
        var falseMatches = 0, novelExamined = 0
        for j in 0..<500 {
            var novel = EngramLibraryTests.Pattern(100_000 + j, dimension: d)
            let r = library.recall(novel.sample(), candidates: 8)
            novelExamined += r.examined
            if r.match != nil { falseMatches += 1 }
        }
        #expect(falseMatches == 0, "\(falseMatches) of 500 novel probes matched")
        #expect(novelExamined == 500 * 8)   // a novel probe costs the full candidate list: 0.4 %
        // For the record (debug build, shared 2-core machine: ~3 s to train, ~1.4 s to probe).
        print("engram scale: trained \(n) in \(trained), 1000 stored probes in \(probed); recalled \(recalled), residuals per stored probe \(Double(examined) / 1000)")
    }
}
