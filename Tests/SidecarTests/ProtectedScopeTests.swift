import Dataplane
@testable import Detection
import Foundation
import Packets
import Rules
@testable import Sidecar
import TestSupport
import Testing

/// Issue 11 §2: rules are limited to the protected networks — a derived rule that names no
/// destination gets one per protected prefix; one that names its own is left as it is.
@Suite("Protected networks", .ownThread, .serialized)
struct ProtectedScopeTests {
    func detected(_ id: UInt32, _ predicates: [Candidate]) -> DetectedRule {
        DetectedRule(id: id, rateLimitPps: nil, derivedAt: 1, explanation: "test", predicates: predicates, baselineShare: 0)
    }

    @Test(arguments: FilterKind.available) func aRuleWithoutDestinationIsScopedToEachPrefix(_ kind: FilterKind) throws {
        let dp = try kind.make()
        var config = SidecarConfig()
        config.protected = [IPPrefix("198.51.100.0/24")!, IPPrefix("2001:db8::/48")!]
        let sidecar = Sidecar(dataplane: dp, config: config)
        try sidecar.install([detected(1, [Candidate(field: .proto, kind: .equals(17)), Candidate(field: .srcPort, kind: .equals(53))])],
                            incident: 1, now: 0) { _ in }
        let rules = dp.rules
        #expect(rules.count == 2)
        #expect(Set(rules.map(\.id)).count == 2)
        #expect(rules.allSatisfy { $0.predicates.contains { $0.field == .dstIP } })
        let inside = PacketFeatures.udp(dst: "198.51.100.9"), outside = PacketFeatures.udp(dst: "203.0.113.9")
        #expect(rules.contains { $0.matches(inside) })
        #expect(!rules.contains { $0.matches(outside) }, "traffic to a network Holon does not defend is never dropped")
    }

    @Test(arguments: FilterKind.available) func aRuleWithItsOwnDestinationIsLeftAlone(_ kind: FilterKind) throws {
        let dp = try kind.make()
        var config = SidecarConfig()
        config.protected = [IPPrefix("198.51.100.0/24")!]
        let sidecar = Sidecar(dataplane: dp, config: config)
        let host = IPAddress("198.51.100.10")!.fieldValue
        try sidecar.install([detected(1, [Candidate(field: .proto, kind: .equals(17)), Candidate(field: .dstIP, kind: .equals(UInt64(host)))])],
                            incident: 1, now: 0) { _ in }
        #expect(dp.rules.count == 1)
        #expect(dp.rules[0].predicates.filter { $0.field == .dstIP }.count == 1)
    }
}

extension PacketFeatures {
    static func udp(dst: String) -> PacketFeatures {
        var f = PacketFeatures()
        f.proto = 17
        f.srcIP = IPAddress("192.0.2.1")!
        f.dstIP = IPAddress(dst)!
        f.srcPort = 53
        f.dstPort = 4000
        f.hasTransportHeader = true
        return f
    }
}
