import Lab
import TestSupport
import Testing

@Suite(.ownThread, .enabled(if: TestLab.isRoot, "needs root: namespaces, veth"))
struct LabTests {
    @Test func upAndDownAreIdempotent() throws {
        let lab = Lab(.scratch(prefix: "holon-dtest", tag: "hdlab"))
        defer { try? lab.down() }
        try lab.down()
        #expect(lab.status().isDown)
        #expect(try lab.up().isUp)
        #expect(try lab.up().isUp)   // again: nothing to do, still up
        try lab.down()
        try lab.down()
        #expect(lab.status().isDown)
    }
}
