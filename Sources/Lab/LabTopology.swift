/// The names and addresses of one lab: two network namespaces joined by one veth pair, with no
/// route anywhere else, so whatever is sent inside (spoofed sources included) stays inside.
///
/// ``standard`` is the lab of DESIGN.md (`holon lab up`); tests build their own with unique
/// names so they never touch it or each other.
public struct LabTopology: Sendable, Hashable, Codable {
    /// Namespace of the traffic generator.
    public var generatorNamespace: String
    /// Namespace of the XDP filter.
    public var filterNamespace: String
    /// The veth end inside ``generatorNamespace``.
    public var generatorInterface: String
    /// The veth end inside ``filterNamespace`` (where XDP attaches).
    public var filterInterface: String
    /// CIDR of ``generatorInterface``.
    public var generatorAddress: String
    /// CIDR of ``filterInterface``.
    public var filterAddress: String

    public init(generatorNamespace: String, filterNamespace: String, generatorInterface: String,
                filterInterface: String, generatorAddress: String = "10.77.0.1/24",
                filterAddress: String = "10.77.0.2/24") {
        self.generatorNamespace = generatorNamespace
        self.filterNamespace = filterNamespace
        self.generatorInterface = generatorInterface
        self.filterInterface = filterInterface
        self.generatorAddress = generatorAddress
        self.filterAddress = filterAddress
    }

    /// The lab every command talks to by default.
    public static let standard = LabTopology(
        generatorNamespace: "holon-gen", filterNamespace: "holon-filter",
        generatorInterface: "holon-gen0", filterInterface: "holon-in")

    /// A private lab for a test: namespaces `<prefix>-<tag>-gen|flt`, interfaces `<tag>g|f`
    /// (interface names are limited to 15 bytes, hence the short tag).
    public static func scratch(prefix: String, tag: String) -> LabTopology {
        LabTopology(generatorNamespace: "\(prefix)-\(tag)-gen", filterNamespace: "\(prefix)-\(tag)-flt",
                    generatorInterface: "\(tag)g", filterInterface: "\(tag)f")
    }
}

/// What `status` found.
public struct LabStatus: Sendable, Hashable, Codable {
    public var generatorNamespace: Bool
    public var filterNamespace: Bool
    /// Both veth ends exist, in the right namespaces.
    public var veth: Bool
    public var generatorAddressed: Bool
    public var filterAddressed: Bool
    public var generatorUp: Bool
    public var filterUp: Bool

    public init(generatorNamespace: Bool = false, filterNamespace: Bool = false, veth: Bool = false,
                generatorAddressed: Bool = false, filterAddressed: Bool = false,
                generatorUp: Bool = false, filterUp: Bool = false) {
        self.generatorNamespace = generatorNamespace
        self.filterNamespace = filterNamespace
        self.veth = veth
        self.generatorAddressed = generatorAddressed
        self.filterAddressed = filterAddressed
        self.generatorUp = generatorUp
        self.filterUp = filterUp
    }

    /// Everything `up` builds is there.
    public var isUp: Bool {
        generatorNamespace && filterNamespace && veth && generatorAddressed && filterAddressed && generatorUp && filterUp
    }

    /// Nothing of the lab is left.
    public var isDown: Bool { !generatorNamespace && !filterNamespace }
}
