/// Where the filter lives: its pins, its interface, its namespace.
public struct DataplaneOptions: Sendable, Hashable {
    /// Maps, the program and the XDP link are pinned here; they outlive the process.
    public var pinDirectory: String
    /// Namespace of ``interface`` (nil: the caller's own).
    public var namespace: String?
    public var interface: String
    /// Where the installed rules are kept as text (bpffs holds only BPF objects), so a later
    /// process can list and amend them.
    public var stateDirectory: String
    /// Sampling rate written when the maps are first created: one packet in N.
    public var initialSampleEvery: UInt32

    public init(pinDirectory: String = "/sys/fs/bpf/holon", namespace: String? = "holon-filter",
                interface: String = "holon-in", stateDirectory: String = "/run/holon",
                initialSampleEvery: UInt32 = 100) {
        self.pinDirectory = pinDirectory
        self.namespace = namespace
        self.interface = interface
        self.stateDirectory = stateDirectory
        self.initialSampleEvery = initialSampleEvery
    }

    /// The lab's filter: `holon-in` in `holon-filter`, pinned under /sys/fs/bpf/holon.
    public static let standard = DataplaneOptions()

    /// The rule text file for this pin directory.
    public var stateFile: String {
        let name = pinDirectory.split(separator: "/").last.map(String.init) ?? "holon"
        return "\(stateDirectory)/\(name).rules"
    }
}

/// How XDP ended up attached.
public enum AttachMode: String, Sendable, Codable {
    /// In the driver (veth supports it): the fast path.
    case native
    /// Generic (skb) mode: works everywhere, slower.
    case generic
}
