import Packets
import Testing
@testable import Detection

@Suite struct AddressSetTests {
    @Test func agreesWithSetThroughGrowth() {
        var mine = AddressSet(), reference = Set<IPAddress>()
        var x: UInt64 = 0x9E37_79B9
        for i in 0..<20_000 {
            x = x &* 6364136223846793005 &+ 1442695040888963407
            // Few distinct values, so most inserts are repeats; both families, and v4 `a` beside v6 `::a`.
            let a: IPAddress = i % 3 == 0 ? .v6(high: (x >> 62), low: (x >> 52) & 0xFFF) : .v4(UInt32((x >> 40) & 0xFFF))
            #expect(mine.contains(a) == reference.contains(a))
            #expect(mine.insert(a) == reference.insert(a).inserted)
        }
        #expect(mine.count == reference.count)
        #expect(Set(mine) == reference)
        #expect(!mine.contains(.v4(0x1_0000)) && !mine.contains(.v6(high: 1, low: 0)))
    }

    @Test func v4AndV6WithTheSameBitsAreDifferent() {
        var s = AddressSet()
        s.insert(.v4(7))
        #expect(s.contains(.v4(7)) && !s.contains(.v6(high: 0, low: 7)))
        s.insert(.v6(high: 0, low: 7))
        #expect(s.count == 2)
    }
}
