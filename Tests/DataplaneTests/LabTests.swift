import Glibc
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

    /// setns moves the calling thread only, and `run` brings it back: the namespace seen inside
    /// is the lab's (its veth end is there), and afterwards the thread is home again.
    @Test func runEntersAndComesBack() throws {
        let lab = Lab(.scratch(prefix: "holon-dtest", tag: "hdns"))
        defer { try? lab.down() }
        try lab.up()
        let ns = NetworkNamespace(lab.topology.generatorNamespace)
        #expect(ns.exists)
        let home = Self.threadNamespace()
        let (inside, index) = try ns.run { (Self.threadNamespace(), if_nametoindex(lab.topology.generatorInterface)) }
        #expect(inside != home)
        #expect(index != 0)
        #expect(Self.threadNamespace() == home)
    }

    @Test func aMissingNamespaceIsNamed() {
        let ns = NetworkNamespace("holon-dtest-no-such-ns")
        #expect(!ns.exists)
        #expect(throws: NamespaceError.missing("holon-dtest-no-such-ns")) { try ns.run {} }
        #expect(throws: NamespaceError.missing("holon-dtest-no-such-ns")) { try ns.enter() }
    }

    /// The calling thread's network namespace, as the inode of its nsfs file.
    static func threadNamespace() -> UInt64 {
        var st = stat()
        return stat("/proc/thread-self/ns/net", &st) == 0 ? UInt64(st.st_ino) : 0
    }
}
