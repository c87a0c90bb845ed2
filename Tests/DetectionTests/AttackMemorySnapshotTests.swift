@testable import Detection
import Foundation
import Holon
import Packets
import Testing
import Traffic
import TestSupport

/// Issue 14 §6: the attack memory is persisted with the baseline (snapshot format 3), so a
/// restarted detector recognises a returning attack from its first samples, as the detector
/// that saw it did.
@Suite(.ownThread, .serialized) struct AttackMemorySnapshotTests {
    @Test func theMemoryReadsBackIdentical() throws {
        let s = Learned.pulsed
        #expect(s.rememberedAttacks == 1)
        let bytes = s.encoded()
        let back = try DetectorSnapshot(decoding: bytes)
        #expect(back == s)
        #expect(back.attacks == s.attacks)
        let e = try #require(back.attacks.first)
        #expect(!e.rules.isEmpty && e.vector.count > 0)
        // Counted back from the save: closed ~1 s before the end of the 2 s pause.
        #expect(e.lastClosed > 0 && e.lastClosed < 2_000_000_000, "closed \(e.lastClosed) ns before the save")
        #expect(back.encoded() == bytes)
        print("pulsed snapshot: \(bytes.count) bytes (\(bytes.count - s.encoded(version: 2).count) for the memory): \(e.name), \(e.rules)")
    }

    @Test func olderVersionsRestoreWithAnEmptyMemory() throws {
        let s = Learned.pulsed
        for v: UInt16 in [1, 2] {
            let old = try DetectorSnapshot(decoding: s.encoded(version: v))
            #expect(old.rememberedAttacks == 0)
            let d = try Detector(config: Learned.pulseConfig, restoring: old)
            #expect(d.memory.entries.isEmpty)
        }
    }

    /// Samples (1 in 4) of the next run, another hour: 1 s of normal traffic, then the pulse again.
    func nextPulse() -> (samples: [(features: PacketFeatures, isAttack: Bool)], start: UInt64) {
        let s = Scenario(name: "next", seed: 43, epoch: Learned.later, phases: [
            ScenarioPhase(name: "normal", duration: 1, normalRate: 2_000),
            ScenarioPhase(name: "pulse", duration: 0.5, normalRate: 2_000, attack: Learned.pulse),
        ])
        let samples = s.stream().enumerated().filter { $0.offset % 4 == 0 }.map { ($0.element.features, $0.element.isAttack) }
        return (samples, Learned.later + 1_000_000_000)
    }

    func rules(after snapshot: DetectorSnapshot) throws -> (rules: [DetectedRule], incidents: Int) {
        var d = try Detector(config: Learned.pulseConfig, restoring: snapshot)
        var rules: [DetectedRule] = []
        for (f, _) in nextPulse().samples {
            d.ingest(f)
            for case .rules(_, let r) in d.drainEvents() { rules += r }
        }
        return (rules, d.incidents.count)
    }

    @Test func aRestoredDetectorRecallsTheAttackFromItsFirstSamples() throws {
        let (samples, start) = nextPulse()
        let remembered = try #require(Learned.pulsed.attacks.first)
        let (recalled, incidents) = try rules(after: try DetectorSnapshot(decoding: Learned.pulsed.encoded()))
        let first = try #require(recalled.first, "the returning pulse got no rule")
        let ms = Double(Int64(bitPattern: first.derivedAt &- start)) / 1e6
        // The detector decides at ticks (10 ms, counted from its first sample): the rule is back at
        // the first tick by which more of the pulse's samples had arrived than the memory's floor
        // asks (its baseline share is 0), whatever the tick's phase against the pulse.
        let tick = Learned.pulseConfig.tick.components.attoseconds / 1_000_000_000
        let attack = samples.filter(\.isAttack).map(\.features.timestamp)
        let enough = attack[Int(AttackMemory.floor)]
        let origin = samples[0].features.timestamp
        let firstTickWithEnough = origin + (enough - origin + UInt64(tick) - 1) / UInt64(tick) * UInt64(tick)
        #expect(first.derivedAt <= firstTickWithEnough, "rule back \(ms) ms after the pulse began")
        #expect(ms <= 10 + Double(tick) / 1e6, "rule back \(ms) ms after the pulse began")
        // Recalled, not derived again: the remembered rules, and nothing else, in one incident.
        #expect(recalled.allSatisfy { $0.explanation.hasPrefix("recalled") }, "\(recalled.map(\.explanation))")
        #expect(Set(recalled.map { Set($0.predicates) }) == Set(remembered.rules.flatMap(\.installed).map { Set($0.predicates) }))
        #expect(incidents == 1)
        // The same baseline without its memory (a version-2 file) has to find the attack anew.
        let derived = try rules(after: try DetectorSnapshot(decoding: Learned.pulsed.encoded(version: 2))).rules
        let again = try #require(derived.first, "the pulse was not caught without the memory")
        let anew = Double(Int64(bitPattern: again.derivedAt &- start)) / 1e6
        #expect(!again.explanation.hasPrefix("recalled"))
        print("restored → returning pulse: rule back after \(String(format: "%.1f", ms)) ms from the memory (first tick with enough samples: \(String(format: "%.1f", Double(firstTickWithEnough - start) / 1e6)) ms; \(first)); derived after \(String(format: "%.1f", anew)) ms without it")
    }

    /// A restarted detector numbered its incidents from 1 again: its incident 1 read as the
    /// remembered incident 1 ("recalled: incident 1's rule") though they were two attacks.
    @Test func aRestoredDetectorNumbersAfterTheRememberedIncidents() throws {
        let remembered = try #require(Learned.pulsed.attacks.map(\.firstIncident).max())
        var d = try Detector(config: Learned.pulseConfig, restoring: try DetectorSnapshot(decoding: Learned.pulsed.encoded()))
        for (f, _) in nextPulse().samples { d.ingest(f) }
        let ids = d.incidents.map(\.id)
        #expect(!ids.isEmpty && ids.allSatisfy { $0 > remembered }, "remembered incident \(remembered), new \(ids)")
    }

    /// An entry beyond the stored form's bounds (more rules than a count byte allows) is left
    /// out of the file, not stored cut or trapped on.
    @Test func anEntryTooLargeToStoreIsLeftOut() throws {
        var s = Learned.small
        var e = try #require(Learned.pulsed.attacks.first)
        e.vector = Accumulator(dimension: s.dimension, sums: Array(e.vector.sums.prefix(s.dimension)),
                               weight: e.vector.weight, count: e.vector.count)
        var big = e
        big.rules = Array(repeating: e.rules[0], count: 300)
        #expect(e.isStorable && !big.isStorable)
        s.attacks = [big, e]
        let back = try DetectorSnapshot(decoding: s.encoded())
        #expect(back.attacks == [e])
    }

    /// A forged memory (the checksum made right over it) is refused with a reason, never a trap:
    /// every bit of the rules' part flipped in turn, and the memory cut short at each byte. (On
    /// the small baseline, with the pulse's remembered rules and a vector of its dimension: a
    /// file the loop can afford to decode thousands of times.)
    @Test func aForgedMemoryIsMalformedNotACrash() throws {
        var s = Learned.small
        var e = try #require(Learned.pulsed.attacks.first)
        e.vector = Accumulator(dimension: s.dimension, sums: Array(e.vector.sums.prefix(s.dimension)),
                               weight: e.vector.weight, count: e.vector.count)
        s.attacks = [e, e]
        let bytes = s.encoded()
        #expect(try DetectorSnapshot(decoding: bytes) == s)
        let payloadEnd = bytes.count - DetectorSnapshot.checksumSize
        // The memory begins where version 2's payload ended.
        let memoryStart = s.encoded(version: 2).count - DetectorSnapshot.checksumSize
        func forged(_ payload: ArraySlice<UInt8>) -> [UInt8] {
            var w = ByteWriter()
            w.append(Array(bytes[..<DetectorSnapshot.headerSize]))
            w.append(Array(payload))
            w.patchU64(UInt64(payload.count), at: 12)
            w.u64(FNV1a64.hash(w.bytes))
            return w.bytes
        }
        let payload = bytes[DetectorSnapshot.headerSize..<payloadEnd]
        // The first entry, up to its vector's sums.
        let rulesEnd = memoryStart + 4 + (payloadEnd - memoryStart - 4) / 2 - 4 * s.dimension
        var refused: [String: Int] = [:], accepted = 0
        for i in memoryStart..<rulesEnd {
            for bit in 0..<8 {
                var p = payload
                p[i] ^= 1 << UInt8(bit)
                do {
                    let back = try DetectorSnapshot(decoding: forged(p))
                    // What reads is a memory still: it restores.
                    _ = try Detector(config: Learned.smallConfig, restoring: back)
                    accepted += 1
                } catch {
                    refused[String(error.description.prefix(while: { $0 != ":" })), default: 0] += 1
                }
            }
        }
        for cut in memoryStart..<payloadEnd where cut < rulesEnd || cut % 97 == 0 {
            #expect(throws: SnapshotError.self) { try DetectorSnapshot(decoding: forged(payload[..<cut])) }
        }
        print("forged memory: \(rulesEnd - memoryStart) bytes of rules × 8 bits: refused \(refused.sorted { $0.key < $1.key }), \(accepted) read as another valid memory")
        #expect(!refused.isEmpty)
    }
}
