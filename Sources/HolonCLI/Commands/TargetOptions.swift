import ArgumentParser
import Config
import Dataplane

/// Which filter a command works on. `--interface` names one; each interface has its own pins,
/// table and state (``DataplaneOptions/protecting(interface:namespace:)``). Without it, a command
/// that attaches (`filter attach`, `holon run`) means the lab's (`holon-in` in `holon-filter`);
/// one that works on an attached filter means the filter there is (``existing()``).
struct TargetOptions: ParsableArguments {
    @Option(help: "Interface to protect or inspect (default: the filter attached on this host, else the lab's holon-in).") var interface: String?
    @Option(help: "Network namespace of --interface (default: this host's; with no --interface, the lab's).") var netns: String?

    func validate() throws {
        if netns != nil && interface == nil { throw ValidationError("--netns names the namespace of --interface: give --interface too") }
        try Self.checkInterface(interface)
    }

    /// `--interface`'s value, when given, is a name Linux takes (every command's flag alike).
    static func checkInterface(_ name: String?) throws {
        if let i = name, !InterfaceName.isValid(i) {
            throw ValidationError("--interface '\(i)' is not an interface name (\(InterfaceName.rule))")
        }
    }

    /// The filter to attach: `--interface`'s, else the lab's.
    var options: DataplaneOptions {
        guard let interface else { return .standard }
        return .protecting(interface: interface, namespace: netns)
    }

    /// The attached filter to work on: `--interface`'s, else ``DataplaneOptions/unnamed(among:)``.
    /// An operator who attached to eth0 and typed `holon rules list` was told "no filter is attached".
    func existing() throws -> DataplaneOptions {
        if interface != nil { return options }
        let pinned = DataplaneOptions.pinned()
        guard let o = DataplaneOptions.unnamed(among: pinned) else {
            let names = pinned.map { $0.interface + ($0.namespace.map { " (netns \($0))" } ?? "") }
            throw InputError("\(pinned.count) filters are pinned on this host (\(names.joined(separator: ", "))): name one with --interface")
        }
        return o
    }
}
