/// A prefix is written as its text in JSON and YAML (`"198.51.100.0/24"`, `"2001:db8::/32"`, a bare
/// address for a host prefix), read by the one parser, ``IPPrefix/parse(_:)``.
extension IPPrefix: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let text = try c.decode(String.self)
        guard let p = IPPrefix(text) else {
            throw DecodingError.dataCorruptedError(
                in: c, debugDescription: "'\(text)' is not an IP address or prefix (e.g. 198.51.100.0/24)")
        }
        self = p
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
