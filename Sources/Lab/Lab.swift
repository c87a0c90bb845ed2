import Foundation

/// Builds, inspects and removes a ``LabTopology`` with iproute2. Every operation is idempotent:
/// `up` on a lab that is up changes nothing, `down` on a lab that is down succeeds.
public struct Lab: Sendable {
    public let topology: LabTopology

    public init(_ topology: LabTopology = .standard) {
        self.topology = topology
    }

    static func requireRoot() throws(LabError) {
        guard geteuid() == 0 else { throw .notRoot }
        _ = try IPCommand.executable()
    }

    /// Creates whatever is missing: both namespaces, the veth pair (created directly inside
    /// them, so it never exists in the host namespace), addresses, links up. IPv6 is disabled
    /// on the lab interfaces so the kernel sends no neighbour discovery or MLD chatter that
    /// would disturb exact packet counts.
    @discardableResult
    public func up() throws(LabError) -> LabStatus {
        try Self.requireRoot()
        let t = topology
        var s = status()
        if !s.generatorNamespace { try IPCommand.run(["netns", "add", t.generatorNamespace]) }
        if !s.filterNamespace { try IPCommand.run(["netns", "add", t.filterNamespace]) }
        if !s.veth {
            // A half-built pair (one end left over) would make `link add` fail; clear it.
            _ = try IPCommand.runStatus(["-n", t.generatorNamespace, "link", "del", t.generatorInterface])
            _ = try IPCommand.runStatus(["-n", t.filterNamespace, "link", "del", t.filterInterface])
            try IPCommand.run(["link", "add", t.generatorInterface, "netns", t.generatorNamespace, "type", "veth",
                               "peer", "name", t.filterInterface, "netns", t.filterNamespace])
        }
        for (ns, ifname, cidr) in [(t.generatorNamespace, t.generatorInterface, t.generatorAddress),
                                   (t.filterNamespace, t.filterInterface, t.filterAddress)] {
            try disableIPv6(ns: ns, ifname: ifname)
            if !hasAddress(ns: ns, ifname: ifname, cidr: cidr) {
                try IPCommand.run(["-n", ns, "addr", "add", cidr, "dev", ifname])
            }
            try IPCommand.run(["-n", ns, "link", "set", "lo", "up"])
            try IPCommand.run(["-n", ns, "link", "set", ifname, "up"])
        }
        waitForCarrier()
        s = status()
        return s
    }

    /// Waits (up to a second) for the veth carrier: frames sent before it is up are dropped, and
    /// tests and benchmarks send as soon as `up` returns.
    func waitForCarrier() {
        for _ in 0..<50 {
            let r = try? IPCommand.runStatus(["-n", topology.generatorNamespace, "-o", "link", "show", "dev", topology.generatorInterface])
            if r?.stdout.contains("LOWER_UP") == true { return }
            usleep(20_000)
        }
    }

    /// Removes both namespaces (which destroys the veth pair and any XDP program on it).
    public func down() throws(LabError) {
        try Self.requireRoot()
        let s = status()
        if s.generatorNamespace { try IPCommand.run(["netns", "del", topology.generatorNamespace]) }
        if s.filterNamespace { try IPCommand.run(["netns", "del", topology.filterNamespace]) }
    }

    /// What exists now. Never throws: a missing `ip` or namespace reads as "not there".
    public func status() -> LabStatus {
        let t = topology
        var s = LabStatus()
        let names = Self.namespaces()
        s.generatorNamespace = names.contains(t.generatorNamespace)
        s.filterNamespace = names.contains(t.filterNamespace)
        let g = s.generatorNamespace ? link(ns: t.generatorNamespace, ifname: t.generatorInterface) : nil
        let f = s.filterNamespace ? link(ns: t.filterNamespace, ifname: t.filterInterface) : nil
        s.veth = g != nil && f != nil
        s.generatorUp = g?.up ?? false
        s.filterUp = f?.up ?? false
        s.generatorAddressed = g != nil && hasAddress(ns: t.generatorNamespace, ifname: t.generatorInterface, cidr: t.generatorAddress)
        s.filterAddressed = f != nil && hasAddress(ns: t.filterNamespace, ifname: t.filterInterface, cidr: t.filterAddress)
        return s
    }

    /// Names of the network namespaces `ip netns` knows.
    static func namespaces() -> Set<String> {
        guard let r = try? IPCommand.runStatus(["netns", "list"]), r.status == 0 else { return [] }
        // Lines look like "holon-gen (id: 0)" or just "holon-gen".
        return Set(r.stdout.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) })
    }

    func link(ns: String, ifname: String) -> (up: Bool, exists: Bool)? {
        guard let r = try? IPCommand.runStatus(["-n", ns, "-o", "link", "show", "dev", ifname]), r.status == 0 else {
            return nil
        }
        // "<…,UP,LOWER_UP>": the administrative flag is what `up` sets.
        let flags = r.stdout.split(separator: "<").dropFirst().first?.split(separator: ">").first ?? ""
        return (flags.split(separator: ",").contains("UP"), true)
    }

    func hasAddress(ns: String, ifname: String, cidr: String) -> Bool {
        guard let r = try? IPCommand.runStatus(["-n", ns, "-o", "addr", "show", "dev", ifname]), r.status == 0 else {
            return false
        }
        return r.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" }).contains(Substring(cidr))
    }

    func disableIPv6(ns: String, ifname: String) throws(LabError) {
        // `ip netns exec` is fine here: sysctl needs only the namespace's /proc/sys/net.
        for key in ["net.ipv6.conf.\(ifname).disable_ipv6", "net.ipv6.conf.default.disable_ipv6"] {
            _ = try IPCommand.runStatus(["netns", "exec", ns, "sysctl", "-qw", "\(key)=1"])
        }
    }
}
