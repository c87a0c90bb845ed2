import Packets
import Testing
@testable import Traffic

@Suite struct NormalTrafficTests {
    let scenario = Scenario(name: "calm", seed: 11, phases: [ScenarioPhase(name: "calm", duration: 20, normalRate: 5_000)])

    static func normalClass(_ f: PacketFeatures) -> NormalClass? {
        if f.isTCP && (f.dstPort == 80 || f.dstPort == 443) { return .web }
        if f.isUDP && f.dstPort == 53 { return .dnsQuery }
        if f.isUDP && f.srcPort == 53 { return .dnsResponse }
        if f.isUDP && f.dstPort == 123 { return .ntp }
        if f.isICMP && f.icmpType == 8 { return .icmp }
        return nil
    }

    @Test func mixSharesAsConfigured() {
        let packets = collect(scenario)
        var counts = [Int](repeating: 0, count: NormalClass.allCases.count)
        var unknown = 0
        for p in packets {
            #expect(!p.isAttack)
            if let c = Self.normalClass(p.features) { counts[c.rawValue] += 1 } else { unknown += 1 }
        }
        #expect(unknown == 0)
        let shares = scenario.normal.normalizedShares
        for c in NormalClass.allCases {
            let measured = Double(counts[c.rawValue]) / Double(packets.count)
            #expect(abs(measured - shares[c.rawValue]) < 0.01, "\(c): \(measured) vs \(shares[c.rawValue])")
        }
    }

    @Test func thousandsOfSourcesOverManyNetworks() {
        let packets = collect(scenario)
        let sources = Set(packets.map(\.features.srcIP))
        let slash8 = Set(packets.compactMap { if case .v4(let a) = $0.features.srcIP { a >> 24 } else { nil } })
        #expect(sources.count > 5_000)
        #expect(slash8.count > 150)
        let protected = scenario.normal.network
        #expect(packets.allSatisfy { if case .v4(let d) = $0.features.dstIP { protected.contains(ipv4: d) } else { false } })
        #expect(!packets.contains { if case .v4(let s) = $0.features.srcIP { protected.contains(ipv4: s) } else { true } })
    }

    @Test func webFlowsAndFingerprints() {
        let web = collect(scenario).map(\.features).filter(\.isTCP)
        let syns = web.filter { $0.tcpFlags == 0x02 }
        let share = Double(syns.count) / Double(web.count)
        #expect(share > 0.02 && share < 0.15)
        #expect(syns.allSatisfy { [64240, 65535].contains($0.tcpWindow) && $0.df && $0.payloadLen == 0 })
        #expect(syns.allSatisfy { (32768...65535).contains($0.srcPort) })
        // TTLs are an OS initial TTL minus a few hops.
        #expect(web.allSatisfy { (40..<64).contains($0.ttl) || (104..<128).contains($0.ttl) })
        let flags = Set(web.map(\.tcpFlags))
        #expect(flags.isSuperset(of: [0x02, 0x10, 0x18, 0x11]))
        // Every flow (client address and port) starts with a SYN before its data, unless it
        // was already open when the scenario began.
        var firstFlags: [String: UInt8] = [:]
        for f in web where firstFlags["\(f.srcIP):\(f.srcPort)"] == nil { firstFlags["\(f.srcIP):\(f.srcPort)"] = f.tcpFlags }
        let openedBySyn = firstFlags.values.filter { $0 == 0x02 }.count
        #expect(openedBySyn > firstFlags.count / 2)
    }

    @Test func dnsAndNtpSizes() {
        let udp = collect(scenario).map(\.features).filter(\.isUDP)
        let responses = udp.filter { $0.srcPort == 53 }
        #expect(responses.allSatisfy { (60...300).contains($0.ipLen) })
        let resolvers = Set(responses.map(\.srcIP))
        #expect(resolvers.count <= 64 && resolvers.count > 30)
        #expect(udp.filter { $0.srcPort == 123 || $0.dstPort == 123 }.allSatisfy { $0.ipLen == 76 })
    }
}
