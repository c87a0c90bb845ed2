import Packets
import Testing
@testable import Traffic

/// The IPv4 arithmetic traffic models do on a prefix (what AddressBlock used to hold).
@Suite struct IPv4BlockTests {
    @Test func blocksAreIPv4WithHostBitsCleared() throws {
        let b = try #require(IPPrefix(ipv4Block: "198.51.100.77/24"))
        #expect(b == IPPrefix("198.51.100.0/24")!)
        #expect(b.description == "198.51.100.0/24")
        #expect(IPPrefix(ipv4Block: "198.51.100.10") == IPPrefix("198.51.100.10/32")!)
        #expect(IPPrefix(ipv4Block: "2001:db8::/32") == nil)
        #expect(IPPrefix(ipv4Block: "300.1.2.3") == nil)
    }

    @Test func addressesInside() {
        let b = IPPrefix("198.51.100.0/28")!
        #expect(b.ipv4Network == 0xC633_6400)
        #expect(b.ipv4Mask == 0xFFFF_FFF0 && b.ipv4HostMask == 0xF)
        #expect(b.ipv4Count == 16)
        #expect(b.ipv4Address(at: 3) == 0xC633_6403)
        #expect(b.ipv4Address(at: 16 + 5) == 0xC633_6405)   // wraps within the block
        #expect(b.contains(ipv4: 0xC633_640F) && !b.contains(ipv4: 0xC633_6410))
        #expect(IPPrefix.allIPv4.ipv4Count == 1 << 32)
        #expect(IPPrefix("192.0.2.1")!.ipv4Address(at: 12345) == 0xC000_0201)
    }
}
