import Foundation
import Lab
import Testing
import TestSupport

/// The reproduction: `holon rules add` of two rules without `:id`, one after the other. The
/// second failed with "rule table: two rules have id 1" (each was numbered from 1 alone); an
/// id written that the table holds was the same bare error.
@Suite(.ownThread, .serialized, .enabled(if: TestLab.isRoot && FileManager.default.isExecutableFile(atPath: Tools.holon),
                                         "needs root and the built holon"))
struct RulesAddIDTests {
    @Test func rulesAddedWithoutIdsGetFreeOnes() throws {
        let lab = Lab(.scratch(prefix: "holon-dtest", tag: "hd\(getpid() % 10000)ids"))
        try? lab.down()
        try lab.up()
        let target = ["--interface", lab.topology.filterInterface, "--netns", lab.topology.filterNamespace]
        defer {
            _ = try? OutdatedWarningTests.holon(["filter", "detach", "--force", "--forget-rules"] + target)
            try? lab.down()
        }
        func holon(_ argv: [String]) throws -> (status: Int32, out: String, err: String) {
            try OutdatedWarningTests.holon(argv + target)
        }
        #expect(try holon(["filter", "attach"]).status == 0)
        let first = try holon(["rules", "add", "(rule (= dst_port 9) (drop))"])
        #expect(first.status == 0 && first.out.contains("(id 1)"), "\(first)")
        let second = try holon(["rules", "add", "(rule (= dst_port 10) (drop))", "(rule (= dst_port 11) (drop))"])
        #expect(second.status == 0 && second.out.contains("(ids 2, 3)"), "\(second)")
        let taken = try holon(["rules", "add", "(rule (= dst_port 12) (drop) :id 2)"])
        #expect(taken.status != 0 && taken.err.contains("rule 2 is installed already"), "\(taken)")
        let written = try holon(["rules", "add", "(rule (= dst_port 12) (drop) :id 40)", "(rule (= dst_port 13) (drop))"])
        #expect(written.status == 0, "\(written)")
        let list = try holon(["rules", "list"])
        let ids = list.out.split(separator: "\n").compactMap { line in
            line.range(of: ":id ").map { Int(line[$0.upperBound...].prefix { $0.isNumber }) ?? -1 }
        }
        #expect(ids.sorted() == [1, 2, 3, 40, 41], "\(list.out)")
    }
}
