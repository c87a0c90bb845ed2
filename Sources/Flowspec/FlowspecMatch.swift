import Packets
import Rules

extension FlowspecRule {
    /// What a router does with the match (RFC 8955 §4.2, with Holon's field meanings): every
    /// component must hold; a component on a field the packet lacks (ports of ICMP, flags of UDP)
    /// does not. The round-trip tests hold this against the Holon rule it came from.
    public func matches(_ f: PacketFeatures) -> Bool {
        components.allSatisfy { c in
            switch c {
            case .prefix(let t, let p):
                return p.contains(t == .destination ? f.dstIP : f.srcIP)
            case .numeric(let t, let ops):
                let values: [UInt64?]
                switch t {
                case .ipProtocol: values = [RuleField.proto.value(in: f)]
                case .port: values = [RuleField.srcPort.value(in: f), RuleField.dstPort.value(in: f)]
                case .destinationPort: values = [RuleField.dstPort.value(in: f)]
                case .sourcePort: values = [RuleField.srcPort.value(in: f)]
                case .icmpType: values = [RuleField.icmpType.value(in: f)]
                case .icmpCode: values = [RuleField.icmpCode.value(in: f)]
                case .packetLength: values = [RuleField.ipLen.value(in: f)]
                case .dscp: values = [RuleField.dscp.value(in: f)]
                default: return false
                }
                return values.contains { v in v.map { x in evaluate(ops, and: \.and) { $0.holds(for: x) } } ?? false }
            case .bitmask(let t, let ops):
                let value: UInt64?
                switch t {
                case .tcpFlags: value = RuleField.tcpFlags.value(in: f)
                case .fragment: value = Self.fragmentBits(f)
                default: return false
                }
                guard let x = value else { return false }
                return evaluate(ops, and: \.and) { $0.holds(for: x) }
            }
        }
    }

    /// The packet's fragment bits as RFC 8955 defines them.
    static func fragmentBits(_ f: PacketFeatures) -> UInt64 {
        let offset = f.fragOffset != 0
        return (f.df ? FragmentBit.dontFragment : 0) | (offset ? FragmentBit.isFragment : 0)
            | (f.mf && !offset ? FragmentBit.firstFragment : 0) | (!f.mf && offset ? FragmentBit.lastFragment : 0)
    }
}
