@testable import Dataplane
import Packets
import Testing

/// The programs `holon bench xdp` measures the filter against do what their rows say: the
/// drop-all one drops anything, the read-drop one any IPv4 source but 0.0.0.0, the parse-only one drops what parses, the one-lookup one drops
/// exactly the sources it was given (a rate counted from a program that passed the bench frame
/// would be a ceiling of nothing).
@Suite(.enabled(if: TestLab.isRoot, "needs root: BPF"))
struct CeilingProgramTests {
    static func frame(from source: UInt32) -> [UInt8] {
        PacketBuilder.bytes(.udp4(source: source, destination: 0x0A4D_0002, sourcePort: 1234, destinationPort: 9, frameLength: 64))
    }

    @Test func eachReferenceProgramDropsWhatItsRowCounts() throws {
        let garbage = [UInt8](repeating: 0xFF, count: 64)
        #expect(try CeilingProgram(.dropAll).action(garbage) == .drop)
        let read = try CeilingProgram(.readDrop)
        #expect(try read.action(Self.frame(from: 0x0B00_0000)) == .drop)
        #expect(try read.action(Self.frame(from: 0)) == .pass, "the source read decides")
        #expect(try read.action(garbage) == .pass, "not IPv4")
        let parse = try CeilingProgram(.parseOnly)
        #expect(try parse.action(Self.frame(from: 0x0B00_0000)) == .drop)
        #expect(try parse.action(garbage) == .pass, "not IP: unparsed, passed")

        let lookup = try CeilingProgram(.oneLookup)
        #expect(try lookup.action(Self.frame(from: 0x0B00_0000)) == .pass, "nothing blocked yet")
        try lookup.block(sources: [0x0B00_0000, 0x0B00_0002])
        #expect(try lookup.action(Self.frame(from: 0x0B00_0000)) == .drop)
        #expect(try lookup.action(Self.frame(from: 0x0B00_0002)) == .drop)
        #expect(try lookup.action(Self.frame(from: 0x0B00_0001)) == .pass)
        #expect(throws: DataplaneError.self, "only the one-lookup program has sources") { try parse.block(sources: [1]) }
    }
}
