import Foundation

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

    /// The filter of any interface: pins in `/sys/fs/bpf/holon:IF` (or `holon:NS:IF` for an
    /// interface in network namespace NS), rules in `/run/holon/holon:…rules`. One program, table
    /// and state per interface: interfaces face different neighbours and attacks, a rule derived
    /// on one must not drop on another, and detaching one leaves the others alone. Interface
    /// names cannot hold ':' (the kernel refuses them), so the name can be read back.
    public static func protecting(interface: String, namespace: String? = nil) -> DataplaneOptions {
        if interface == standard.interface && namespace == standard.namespace { return standard }
        let name = "holon:" + (namespace.map { "\($0):" } ?? "") + interface
        return DataplaneOptions(pinDirectory: "/sys/fs/bpf/\(name)", namespace: namespace, interface: interface)
    }

    /// The filters pinned on this host (the lab's and every `holon:…` one), attached or not.
    public static func pinned(root: String = "/sys/fs/bpf") -> [DataplaneOptions] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        var found: [DataplaneOptions] = []
        for name in names.sorted() {
            guard FileManager.default.fileExists(atPath: "\(root)/\(name)/config") else { continue }
            if name == "holon" {
                found.append(standard)
            } else if name.hasPrefix("holon:") {
                let rest = name.dropFirst("holon:".count)
                guard let cut = rest.lastIndex(of: ":") else {
                    found.append(DataplaneOptions(pinDirectory: "\(root)/\(name)", namespace: nil, interface: String(rest)))
                    continue
                }
                found.append(DataplaneOptions(pinDirectory: "\(root)/\(name)", namespace: String(rest[..<cut]),
                                              interface: String(rest[rest.index(after: cut)...])))
            }
        }
        return found
    }

    /// The filter a command means when it names none, among the filters `pinned` on this host:
    /// the lab's while it is pinned, or while nothing is (its "not attached" is then the answer);
    /// else the one filter pinned. Nil when several are and none is the lab's: which one is the
    /// operator's call.
    public static func unnamed(among pinned: [DataplaneOptions]) -> DataplaneOptions? {
        if pinned.isEmpty || pinned.contains(standard) { return standard }
        return pinned.count == 1 ? pinned[0] : nil
    }

    /// The command that attaches this filter, takes it over from another version or finishes
    /// a takeover cut short, for messages that suggest it: flags naming the interface, except
    /// for the lab's filter (the command's default).
    public var attachCommand: String {
        if self == .standard { return "holon filter attach" }
        return "holon filter attach --interface \(interface)" + (namespace.map { " --netns \($0)" } ?? "")
    }

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
