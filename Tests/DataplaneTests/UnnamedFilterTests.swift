import Dataplane
import Foundation
import Testing

/// Which filter a command means when it names none. An operator who ran `holon filter attach
/// --interface eth0` and then `holon rules list` was told "no filter is attached": the command
/// meant the lab's filter, which a real host does not have.
@Suite struct UnnamedFilterTests {
    /// A bpffs root holding a `config` pin in each of `dirs`.
    func root(_ dirs: [String]) throws -> String {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("holon-unnamed-\(UUID().uuidString)").path
        for d in dirs {
            try FileManager.default.createDirectory(atPath: "\(root)/\(d)", withIntermediateDirectories: true)
            FileManager.default.createFile(atPath: "\(root)/\(d)/config", contents: Data())
        }
        return root
    }

    @Test func theOneFilterPinnedIsMeant() throws {
        let r = try root(["holon:eth0", "unrelated"])
        defer { try? FileManager.default.removeItem(atPath: r) }
        let pinned = DataplaneOptions.pinned(root: r)
        #expect(pinned.map(\.interface) == ["eth0"] && pinned[0].namespace == nil)
        #expect(DataplaneOptions.unnamed(among: pinned) == pinned[0])
    }

    @Test func theLabsFilterIsMeantWhilePinnedOrWhenNothingIs() throws {
        let r = try root(["holon", "holon:eth0", "holon:edge:eth1"])
        defer { try? FileManager.default.removeItem(atPath: r) }
        let pinned = DataplaneOptions.pinned(root: r)
        #expect(pinned.count == 3)
        #expect(DataplaneOptions.unnamed(among: pinned) == .standard)
        #expect(DataplaneOptions.unnamed(among: []) == .standard, "nothing pinned: the lab's, whose answer is \"not attached\"")
    }

    @Test func severalWithoutTheLabsAreTheOperatorsCall() throws {
        let r = try root(["holon:eth0", "holon:edge:eth1"])
        defer { try? FileManager.default.removeItem(atPath: r) }
        let pinned = DataplaneOptions.pinned(root: r)
        #expect(pinned.map(\.interface) == ["eth1", "eth0"] || pinned.map(\.interface) == ["eth0", "eth1"])
        #expect(pinned.first { $0.interface == "eth1" }?.namespace == "edge")
        #expect(DataplaneOptions.unnamed(among: pinned) == nil)
    }
}
