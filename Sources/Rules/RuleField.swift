import Packets

/// A packet field a rule can test: the packet fields of the field table, one type
/// (``PacketField``, bound to Sources/CHolonFields/include/holon_fields.h). Its `rawValue` is the
/// canonical name the rule text and JSON use; ``PacketField/value(in:)`` is what the reference
/// matcher compares and ``PacketField/maxValue`` what a rule may compare with.
public typealias RuleField = PacketField

extension RuleField {
    /// True for `src_ip` and `dst_ip`, the only fields a prefix predicate may name.
    @inlinable
    public var isAddress: Bool { self == .srcIP || self == .dstIP }
}
