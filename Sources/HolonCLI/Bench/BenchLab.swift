import ArgumentParser
import Dataplane
import Foundation
import Generator
import Lab

/// The private lab a root bench builds for itself: two namespaces, the filter attached on the
/// filter side (pins `holon:NS:IF`, so `holon run --interface/--netns` finds it), the generator
/// aimed at it; `close()` takes it all down.
struct BenchLab {
    let lab: Lab
    let target: DataplaneOptions

    /// Refuses without root (exit 2, one line naming the bench), then builds.
    init(bench: String, prefix: String, tag: String) throws {
        guard geteuid() == 0 else {
            FileHandle.standardError.write("holon bench \(bench): needs root (namespaces, XDP): run it with sudo\n".data(using: .utf8)!)
            throw ExitCode(2)
        }
        lab = Lab(.scratch(prefix: prefix, tag: tag))
        try? lab.down()
        try lab.up()
        target = DataplaneOptions.protecting(interface: lab.topology.filterInterface, namespace: lab.topology.filterNamespace)
        _ = try? Dataplane.detach(target, force: true, forgetRules: true)
        let t = target
        do { _ = try dataplaneStep { () throws(DataplaneError) in try Dataplane.attach(t) } } catch {
            try? lab.down()
            throw error
        }
    }

    func close() {
        _ = try? Dataplane.detach(target, force: true, forgetRules: true)
        try? lab.down()
    }

    /// The generator on the lab's far side, sending to the filter's address.
    var generatorOptions: GeneratorOptions {
        var o = GeneratorOptions(interface: lab.topology.generatorInterface, namespace: lab.topology.generatorNamespace, engine: .sendmmsg)
        o.peer = lab.topology.filterAddress.split(separator: "/").first.map(String.init)
        return o
    }
}
