import ArgumentParser
import Dataplane

/// Which filter a command works on: the lab's (`holon-in` in `holon-filter`) unless
/// `--interface` names another; each interface has its own pins, table and state
/// (``DataplaneOptions/protecting(interface:namespace:)``).
struct TargetOptions: ParsableArguments {
    @Option(help: "Interface to protect or inspect (default: the lab's holon-in).") var interface: String?
    @Option(help: "Network namespace of --interface (default: this host's; with no --interface, the lab's).") var netns: String?

    func validate() throws {
        if netns != nil && interface == nil { throw ValidationError("--netns names the namespace of --interface: give --interface too") }
        if let i = interface, i.isEmpty || i.count > 15 || i.contains(where: { $0 == "/" || $0 == ":" || $0.isWhitespace }) {
            throw ValidationError("--interface '\(i)' is not an interface name (1–15 characters, no '/', ':' or spaces)")
        }
    }

    var options: DataplaneOptions {
        guard let interface else { return .standard }
        return .protecting(interface: interface, namespace: netns)
    }
}
