import BPFEmbedding
import CGeneratorShim
import CLibBPF
import Foundation
import Packets

/// The XDP live-frames program (`CGeneratorShim/bpf/holon_gen.bpf.c`, embedded by the BPFObject
/// plugin) with its variation table: what BPF_PROG_RUN runs for every copy of a frame the
/// xdp-live engine sends.
public final class LiveFrameProgram: @unchecked Sendable {
    let object: EmbeddedBPF
    public let programFD: Int32
    let variationsFD: Int32

    /// Decoded once and kept: libbpf reads the ELF from it while opening.
    static let image = BPFImage(base64: holonGenObjectBase64, name: "holon_gen")

    public init() throws(GeneratorError) {
        object = try EmbeddedBPF(Self.image)
        programFD = try object.program("holon_gen")
        variationsFD = try object.map("variations")
    }

    /// Writes `variations` at indexes 0… of the table (what `hg_frame_meta.variation` names).
    public func setVariations(_ variations: [FrameVariation]) throws(GeneratorError) {
        guard variations.count <= Int(HG_MAX_VARIATIONS) else {
            throw .badArgument("\(variations.count) distinct packet variations; the xdp-live engine takes at most \(HG_MAX_VARIATIONS)")
        }
        for (i, v) in variations.enumerated() {
            var key = UInt32(i)
            var value = hg_variation(v)
            if bpf_map_update_elem(variationsFD, &key, &value, 0) < 0 { throw .system("fill the variation table", errno) }
        }
    }

}

extension hg_variation {
    /// The BPF program's form of a variation; the same draws `FrameCursor` makes in Swift.
    init(_ v: FrameVariation) {
        self.init()
        var f: UInt32 = 0
        if let b = v.sourceBlock {
            f |= UInt32(HG_VARY_SOURCE)
            source_net = b.ipv4Network
            source_host = b.ipv4HostMask
            if let a = v.avoid, b.length < a.length {
                f |= UInt32(HG_AVOID)
                avoid_net = a.ipv4Network
                avoid_mask = a.ipv4Mask
            }
        }
        if let b = v.destinationBlock {
            f |= UInt32(HG_VARY_DESTINATION)
            destination_net = b.ipv4Network
            destination_host = b.ipv4HostMask
        }
        if let r = v.sourcePorts {
            f |= UInt32(HG_VARY_SOURCE_PORT)
            source_port_lo = UInt32(r.lowerBound)
            source_port_span = UInt32(r.upperBound) - UInt32(r.lowerBound) + 1
        }
        if let r = v.destinationPorts {
            f |= UInt32(HG_VARY_DESTINATION_PORT)
            destination_port_lo = UInt32(r.lowerBound)
            destination_port_span = UInt32(r.upperBound) - UInt32(r.lowerBound) + 1
        }
        switch v.ipID {
        case .keep: break
        case .random: f |= UInt32(HG_IPID_RANDOM)
        case .incrementing: f |= UInt32(HG_IPID_INCREMENT)
        }
        if let r = v.ttl {
            f |= UInt32(HG_VARY_TTL)
            ttl_lo = UInt32(r.lowerBound)
            ttl_span = UInt32(r.upperBound) - UInt32(r.lowerBound) + 1
        }
        flags = f
    }
}

extension hg_frame_meta {
    /// Where the fields of a built frame sit, for the BPF program. IPv6 frames name no variation
    /// (the program sends them as built, as `FrameCursor` does).
    init(_ layout: PacketLayout, variation: UInt32) {
        self.init()
        self.variation = layout.ipVersion == 4 ? variation : UInt32.max
        l3_offset = UInt16(layout.l3Offset)
        l4_offset = layout.l4Offset >= 0 ? UInt16(layout.l4Offset) : UInt16(HG_NONE)
        l4_checksum_offset = layout.l4ChecksumOffset >= 0 ? UInt16(layout.l4ChecksumOffset) : UInt16(HG_NONE)
        pseudo_header = layout.proto == IPProtocol.tcp || layout.proto == IPProtocol.udp ? 1 : 0
        udp = layout.proto == IPProtocol.udp ? 1 : 0
    }
}
