import ArgumentParser
import Dataplane
import Foundation

/// The programs `holon bench xdp` compares the filter with (``CeilingProgram``), loaded once and
/// run in the same rounds as the filter: each round's rates are taken within seconds of each
/// other, so a ratio of two of them is about the programs, not about when they ran.
struct Ceilings {
    /// One round's live-frame rates, packets a second over all CPUs.
    struct Round {
        var filter, dropAll, readDrop, parseOnly, oneLookup: Double
    }

    let dropAll, readDrop, parseOnly, oneLookup: CeilingProgram
    let frame: [UInt8]

    /// Loads the four, the one-lookup program blocking the bench's 100k sources; each must drop
    /// `frame` (a rate counted from a program that passed it would be a ceiling of nothing).
    init(frame: [UInt8]) throws {
        self.frame = frame
        func load(_ kind: CeilingProgram.Kind, blocking sources: [UInt32] = []) throws -> CeilingProgram {
            let program = try dataplaneStep { () throws(DataplaneError) in
                let p = try CeilingProgram(kind)
                if !sources.isEmpty { try p.block(sources: sources) }
                return p
            }
            guard try dataplaneStep({ () throws(DataplaneError) in try program.action(frame) }) == .drop else {
                throw ValidationError("the \(kind) program did not drop the bench frame")
            }
            return program
        }
        dropAll = try load(.dropAll)
        readDrop = try load(.readDrop)
        parseOnly = try load(.parseOnly)
        oneLookup = try load(.oneLookup, blocking: BenchXDP.sources(100_000))
    }

    /// The wall time, in nanoseconds, of `body` run on `cpus` threads at once: how every
    /// live-frame rate of the bench is timed, the filter's and the ceilings' alike.
    static func onEveryCPU(_ cpus: Int, _ body: @Sendable () -> Void) -> Double {
        let t0 = DispatchTime.now().uptimeNanoseconds
        DispatchQueue.concurrentPerform(iterations: cpus) { _ in body() }
        return Double(DispatchTime.now().uptimeNanoseconds - t0)
    }

    /// The four programs' rates for `frames` frames a CPU each, beside the `filter` rate just taken.
    func round(frames: UInt32, cpus: Int, filter: Double) -> Round {
        func rate(_ program: CeilingProgram) -> Double {
            Double(cpus) * Double(frames) / Self.onEveryCPU(cpus) { _ = try? program.liveFrames(frame, count: frames) } * 1e9
        }
        return Round(filter: filter, dropAll: rate(dropAll), readDrop: rate(readDrop), parseOnly: rate(parseOnly), oneLookup: rate(oneLookup))
    }
}
