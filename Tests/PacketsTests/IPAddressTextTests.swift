import Foundation
import Packets
import Testing

/// Dotted IPv4 is read without inet_pton (a 100k-rule state file holds 100k addresses), so it
/// must read exactly what inet_pton(AF_INET) reads, and refuse what it refuses.
@Suite struct IPAddressTextTests {
    static let texts = [
        "0.0.0.0", "255.255.255.255", "10.0.0.1", "192.0.2.200", "1.2.3.4",
        "256.0.0.1", "1.2.3", "1.2.3.4.5", "1.2.3.", ".1.2.3", "1..2.3", "01.2.3.4", "1.2.3.04", "1.2.3.0",
        "1.2.3.4 ", " 1.2.3.4", "1.2.3.-4", "+1.2.3.4", "1.2.3.4/8", "0x1.2.3.4", "1.2.3.1000", "", ".",
        "1.2.3.٤", "１.2.3.4", "4294967295", "1.2.3.4\u{0}", "::ffff:1.2.3.4",
    ]

    @Test(arguments: texts)
    func dottedIPv4ReadsAsInetPtonDoes(_ text: String) {
        var a = in_addr()
        let pton = text.utf8.contains(0) ? nil : (inet_pton(AF_INET, text, &a) == 1 ? UInt32(bigEndian: a.s_addr) : nil)
        let ours = IPAddress(text)
        if let pton {
            #expect(ours == .v4(pton), "\(text)")
        } else if case .v4 = ours {
            Issue.record("\(text) read as \(ours!), inet_pton refuses it")
        }
    }

    @Test func textRoundTrips() {
        for a: UInt32 in [0, 1, 0x0A00_0001, 0xC000_02C8, 0xFFFF_FFFF, 0x7F00_0001] {
            #expect(IPAddress(IPAddress.v4(a).description) == .v4(a))
        }
        #expect(IPAddress.v4(0xC000_02C8).description == "192.0.2.200")
        #expect(IPAddress("1.2.3.4\u{0}junk") == nil, "text past a NUL is refused, not ignored")
    }
}
