@testable import Dataplane
import Testing
import Traffic

/// `SlotIndex` against a `Dictionary` doing the same, through runs of inserts and deletions
/// that fill it to the counter budget and wrap its probe runs around the table's end.
@Suite struct SlotIndexTests {
    @Test(arguments: [1, 2, 3])
    func agreesWithADictionary(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        var index = SlotIndex(capacity: 4096)
        var model: [UInt32: UInt16] = [:]
        // Ids from a small range first (dense runs, many collisions), then anywhere.
        for step in 0..<200_000 {
            let id = step < 100_000 ? UInt32(rng.next() % 6000) : UInt32(truncatingIfNeeded: rng.next())   // 0 included
            if rng.next() % 3 == 0 || model.count >= 4096 {
                #expect(index.remove(id) == model.removeValue(forKey: id))
            } else {
                let slot = UInt16(truncatingIfNeeded: rng.next())
                index.set(id, slot)
                model[id] = slot
            }
            if step % 997 == 0 {
                #expect(index.count == model.count)
                for (k, v) in model where index[k] != v { Issue.record("id \(k): \(String(describing: index[k])), want \(v)"); return }
            }
        }
        for (k, v) in model { #expect(index[k] == v) }
        for k in model.keys { index.remove(k) }
        #expect(index.count == 0)
        #expect(index[1] == nil && index[0] == nil)
    }
}
