import Foundation
import Testing
import Holon

@Suite struct CodingTests {
    @Test func codebooksRoundTripThroughJSON() throws {
        let space = VectorSpace(dimension: 1000, seed: 8)
        var book = Codebook(space: space, names: ["syn-flood", "dns-amp"])
        // A learned prototype, which no seed reproduces: ternary, with zero lanes.
        book.set("mix", Hypervector.bundle([space.atom("a"), space.atom("b")]))
        let data = try JSONEncoder().encode(book)
        let loaded = try JSONDecoder().decode(Codebook.self, from: data)
        #expect(loaded.names == book.names)
        #expect(loaded.vectors == book.vectors)
        #expect(loaded["mix"]!.nonZeroCount == book["mix"]!.nonZeroCount)
        #expect(loaded.cleanup(space.atom("dns-amp"))[0].name == "dns-amp")
    }

    @Test func corruptVectorsAreRefused() throws {
        let good = try JSONEncoder().encode(Hypervector(values: [1, -1, 0, 1]))
        #expect(try JSONDecoder().decode(Hypervector.self, from: good) == Hypervector(values: [1, -1, 0, 1]))
        // Lane 2 is zero (mask bit clear) but its sign bit is set; a bit past dimension 4.
        for bad in [#"{"dimension": 4, "sign": [6], "mask": [11]}"#, #"{"dimension": 4, "sign": [2], "mask": [27]}"#,
                    #"{"dimension": 4, "sign": [], "mask": []}"#, #"{"dimension": 0, "sign": [], "mask": []}"#] {
            #expect(throws: DecodingError.self) { try JSONDecoder().decode(Hypervector.self, from: Data(bad.utf8)) }
        }
        let twice = #"{"dimension": 4, "names": ["a", "a"], "vectors": [{"dimension": 4, "sign": [0], "mask": [15]}, {"dimension": 4, "sign": [0], "mask": [15]}]}"#
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Codebook.self, from: Data(twice.utf8)) }
    }
}
