import CHolonXDP
@testable import Dataplane
import Packets
import Rules
import Testing

/// The compiled table names fields by the field table's ids, the slots parse.bpf.h fills (no
/// root: compiling needs no kernel). The XDP side is held to the same ids by
/// ReferenceCrossCheckTests.
@Suite struct FieldSlotTests {
    @Test func everyRuleFieldCompilesToItsTableSlot() throws {
        for field in RuleField.allCases {
            #expect(UInt32(RuleCompiler.fieldSlot(field)) == field.id)
            let value = min(1, field.maxValue)
            let table = try RuleCompiler.compile([
                Rule(id: 1, match: [.equals(field, value)], action: .drop),
                Rule(id: 2, match: [.range(field, 0...value)], action: .drop),
            ], bootOffsetNs: 0)
            #expect(table.shapes.first.map { $0.field.0 } == UInt8(field.id), "\(field) keyed on another slot")
            #expect(table.checks.first?.field == UInt8(field.id), "\(field) checked on another slot")
        }
        // Prefixes key on the raw address views that follow the rule fields.
        let table = try RuleCompiler.compile([Rule(id: 1, match: [.prefix(.srcIP, .v4(0x0A00_0000), length: 8)], action: .drop)],
                                             bootOffsetNs: 0)
        #expect(table.shapes.first.map { UInt32($0.field.0) } == HOLON_F_SRC_V4.rawValue)
    }
}
