import Foundation
import Packets
import Testing

/// A prefix in JSON is its text, read by the one parser: both families, a bare address as a
/// host prefix, and a clear refusal of anything else.
@Suite struct IPPrefixCodableTests {
    @Test func textRoundTrips() throws {
        for text in ["198.51.100.0/24", "10.0.0.1/32", "2001:db8::/32", "0.0.0.0/0"] {
            let json = Data(#"["\#(text)"]"#.utf8)
            let decoded = try JSONDecoder().decode([IPPrefix].self, from: json)
            #expect(decoded == [IPPrefix(text)!])
            #expect(try JSONEncoder().encode(decoded) == Data(#"["\#(text.replacingOccurrences(of: "/", with: "\\/"))"]"#.utf8))
        }
        let bare = try JSONDecoder().decode([IPPrefix].self, from: Data(#"["192.0.2.7", "2001:db8::1"]"#.utf8))
        #expect(bare.map(\.length) == [32, 128])
    }

    @Test func badTextIsRefused() {
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([IPPrefix].self, from: Data(#"["300.1.2.3/8"]"#.utf8)) }
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([IPPrefix].self, from: Data(#"["10.0.0.0/33"]"#.utf8)) }
    }
}
