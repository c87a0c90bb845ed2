import CHolonFields

/// Packet size classes over the IP length (link-independent, so the same packet gets the same
/// class from a raw-IP capture, an Ethernet capture and XDP). The bounds are the field table's
/// (holon_fields.h, HOLON_SIZE_MAX_k), shared with the XDP parser and the nftables export.
public enum SizeClass: Int, Sendable, CaseIterable, CustomStringConvertible {
    case tiny = 0      // ≤ 64
    case small = 1     // ≤ 128
    case medium = 2    // ≤ 256
    case large = 3     // ≤ 512
    case larger = 4    // ≤ 1024
    case full = 5      // ≤ 1500
    case jumbo = 6     // > 1500

    @inlinable
    public init(ipLength: UInt32) {
        // The C function is the one definition of the bands; its result is always 0…6.
        self = SizeClass(rawValue: Int(holon_size_class(ipLength))) ?? .jumbo
    }

    /// Largest IP length of each class but the last, in class order.
    static let upperBounds: [Int] = [
        HOLON_SIZE_MAX_0, HOLON_SIZE_MAX_1, HOLON_SIZE_MAX_2, HOLON_SIZE_MAX_3, HOLON_SIZE_MAX_4, HOLON_SIZE_MAX_5,
    ].map(Int.init)

    /// The IP lengths of the class (what ``init(ipLength:)`` maps to it), up to 65535.
    public var ipLengths: ClosedRange<Int> {
        let lower = rawValue == 0 ? 0 : Self.upperBounds[rawValue - 1] + 1
        let upper = rawValue < Self.upperBounds.count ? Self.upperBounds[rawValue] : Int(UInt16.max)
        return lower...upper
    }

    public var description: String {
        ["tiny", "small", "medium", "large", "larger", "full", "jumbo"][rawValue]
    }
}
