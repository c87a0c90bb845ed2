@testable import Detection
import Foundation
import Packets
import Testing

/// Issue 11 §4: the saved baseline's format. Whatever a disk does to the file, reading it says
/// what is wrong in one line and never traps.
@Suite struct SnapshotFormatTests {
    @Test func aSnapshotReadsBackIdentical() throws {
        let s = Learned.small
        let bytes = s.encoded()
        let back = try DetectorSnapshot(decoding: bytes)
        #expect(back == s)
        #expect(back.openThreshold == s.openThreshold && back.closeThreshold == s.closeThreshold)
        #expect(back.reservoir == s.reservoir && back.reservoir.count == 256)
        #expect(back.sums == s.sums && back.weight == s.weight && back.baselineNorm == s.baselineNorm)
        #expect(back.encoded() == bytes, "the same snapshot gives the same bytes")
        print("small snapshot: \(bytes.count) bytes, \(s.reservoir.count) packets, \(s.sources.count) sources")
    }

    @Test func aRestoredDetectorSavesWhatItWasGiven() throws {
        let s = Learned.standard
        let d = try Detector(config: DetectorConfig(), restoring: s)
        let again = try #require(d.snapshot(savedAt: s.savedAt))
        #expect(again == s)
        #expect(d.openThreshold == s.openThreshold && d.closeThreshold == s.closeThreshold)
        let clock = ContinuousClock()
        var bytes: [UInt8] = []
        let encoding = clock.measure { bytes = s.encoded() }
        let decoding = try clock.measure { _ = try DetectorSnapshot(decoding: bytes) }
        let taking = clock.measure { _ = d.snapshot() }
        print("standard snapshot: \(bytes.count) bytes, \(s.reservoir.count) packets, \(s.sources.count) sources, open \(s.openThreshold), close \(s.closeThreshold); debug build: snapshot \(taking), encode \(encoding), decode \(decoding)")
    }

    @Test func nothingToSaveDuringWarmup() {
        var d = Detector(config: DetectorConfig())
        var f = PacketFeatures()
        f.timestamp = 1
        d.ingest(f)
        #expect(d.snapshot() == nil)
    }

    @Test func everyTruncationIsNamed() {
        let bytes = Learned.small.encoded()
        for cut in stride(from: 0, to: bytes.count, by: 3) {
            // Before the header is whole the file's length is not known yet: the header's is.
            let expected = cut < DetectorSnapshot.headerSize ? DetectorSnapshot.headerSize + DetectorSnapshot.checksumSize : bytes.count
            #expect(throws: SnapshotError.truncated(at: cut, expected: expected)) {
                try DetectorSnapshot(decoding: Array(bytes[..<cut]))
            }
        }
    }

    @Test func everyFlippedBitIsCaught() {
        let bytes = Learned.small.encoded()
        var seen: [String: Int] = [:]
        for i in bytes.indices {
            var b = bytes
            b[i] ^= 1 << UInt8(i % 8)
            do {
                _ = try DetectorSnapshot(decoding: b)
                Issue.record("a flipped bit at byte \(i) went unnoticed")
            } catch {
                let kind: String
                switch (i, error) {
                case (0..<8, .notASnapshot): kind = "magic"
                // A version flipped to another readable one (3 → 2) is caught by the checksum.
                case (8..<10, .unsupportedVersion), (8..<10, .checksumMismatch): kind = "version"
                case (12..<20, .truncated), (12..<20, .lengthMismatch), (12..<20, .malformed): kind = "length"
                case (_, .checksumMismatch) where !(0..<10).contains(i) && !(12..<20).contains(i): kind = "checksum"
                default:
                    Issue.record("byte \(i): unexpected \(error)")
                    kind = "other"
                }
                seen[kind, default: 0] += 1
            }
        }
        print("flipped one bit in each of \(bytes.count) bytes: \(seen.sorted { $0.key < $1.key })")
    }

    @Test func anotherVersionIsNamed() {
        var bytes = Learned.small.encoded()
        bytes[8] = 4
        #expect(throws: SnapshotError.unsupportedVersion(4)) { try DetectorSnapshot(decoding: bytes) }
        #expect(SnapshotError.unsupportedVersion(4).description == "format version 4 not supported (this build reads 1…3)")
    }

    @Test func versionOneStillReadsAndSaysItsPayloadsAreUnknown() throws {
        // A baseline whose packets carry payload heads (synthesized ones may not: give them one).
        var s = Learned.small
        s.reservoir = s.reservoir.map { f in
            var f = f
            if f.hasTransportHeader && f.payloadLen > 0 { f.payload = PayloadHead([0x42, 0x43]) }
            return f
        }
        let v2 = try DetectorSnapshot(decoding: s.encoded())
        #expect(v2.reservoir == s.reservoir)
        #expect(PayloadDeriver(reservoir: v2.reservoir, presence: { _, _ in (0, 0) }).baselineKnowsPayloads)
        let v1 = try DetectorSnapshot(decoding: s.encoded(version: 1))
        #expect(v1.reservoir.allSatisfy { $0.payload.count == 0 })
        #expect(v1.reservoir.contains { $0.payloadLen > 0 && $0.hasTransportHeader })
        #expect(!PayloadDeriver(reservoir: v1.reservoir, presence: { _, _ in (0, 0) }).baselineKnowsPayloads)
    }

    @Test func otherBytesAreNotASnapshot() {
        #expect(throws: SnapshotError.notASnapshot) { try DetectorSnapshot(decoding: Array("{\"json\": true}".utf8)) }
        #expect(throws: SnapshotError.truncated(at: 0, expected: 28)) { try DetectorSnapshot(decoding: []) }
    }

    @Test func anotherDimensionSeedOrRateIsIncompatible() throws {
        let s = Learned.small
        var c = Learned.smallConfig
        c.dimension = 4096
        #expect(throws: SnapshotError.incompatible("dimension 1024, this detector uses 4096")) { try Detector(config: c, restoring: s) }
        c = Learned.smallConfig
        c.seed = 7
        #expect(throws: SnapshotError.incompatible("seed 42, this detector uses 7")) { try Detector(config: c, restoring: s) }
        c = Learned.smallConfig
        c.samplingRate = 4
        #expect(throws: SnapshotError.incompatible("sampled 1 in 1, this detector 1 in 4")) { try Detector(config: c, restoring: s) }
        c = Learned.smallConfig
        c.halfLife = .milliseconds(500)
        #expect(throws: (any Error).self) { try Detector(config: c, restoring: s) }
        _ = try Detector(config: Learned.smallConfig, restoring: s)
    }

    @Test func aFileIsWrittenAtomicallyAndLoadedWithItsAge() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("holon-snapshot-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/lo/baseline.bin"
        let s = Learned.small
        #expect(throws: SnapshotError.notFound(path: path)) {
            try DetectorSnapshot.load(from: path, maxAge: .seconds(3600), config: Learned.smallConfig)
        }
        try s.write(to: path)
        try s.write(to: path)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/lo") == ["baseline.bin"], "no temporary file left")
        let now = s.savedAt.addingTimeInterval(120)
        let back = try DetectorSnapshot.load(from: path, maxAge: .seconds(3600), now: now, config: Learned.smallConfig)
        #expect(back == s)
        #expect(throws: SnapshotError.tooOld(ageSeconds: 120, maxAgeSeconds: 60)) {
            try DetectorSnapshot.load(from: path, maxAge: .seconds(60), now: now, config: Learned.smallConfig)
        }
        #expect(throws: SnapshotError.fromTheFuture(secondsAhead: 3600)) {
            try DetectorSnapshot.load(from: path, maxAge: .seconds(60), now: s.savedAt.addingTimeInterval(-3600), config: Learned.smallConfig)
        }
        // A torn file on disk: reported, not trusted.
        var bytes = s.encoded()
        bytes.removeLast(100)
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        #expect(throws: SnapshotError.truncated(at: bytes.count, expected: bytes.count + 100)) {
            try DetectorSnapshot.load(from: path, maxAge: .seconds(3600), now: now, config: Learned.smallConfig)
        }
    }
}
