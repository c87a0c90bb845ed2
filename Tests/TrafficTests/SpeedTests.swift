import Testing
@testable import Traffic

@Suite struct SpeedTests {
    /// Generation rate, for the log (run `swift test -c release` for a meaningful number).
    @Test func generationRate() {
        var stream = Scenario.default.stream()
        var n = 0
        var checksum: UInt64 = 0
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            while let p = stream.next() {
                n += 1
                let f = p.features
                checksum = (checksum &* 31) &+ (f.timestamp ^ UInt64(f.ipLen) ^ UInt64(bitPattern: Int64(f.srcIP.fieldValue)))
                checksum &+= UInt64(f.srcPort) << 16 | UInt64(f.dstPort) | UInt64(f.ttl) << 32 | UInt64(f.tcpFlags) << 40
                checksum &+= UInt64(f.ipID) &* 3 &+ (p.isAttack ? 1 : 0) &+ UInt64(f.fragOffset) << 48 &+ (f.mf ? 7 : 0)
            }
        }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        print("Traffic: \(n) packets in \(seconds) s = \(Double(n) / seconds / 1e6) M packets/s (checksum \(checksum))")
        #expect(n == Scenario.default.totalPackets)
    }
}
