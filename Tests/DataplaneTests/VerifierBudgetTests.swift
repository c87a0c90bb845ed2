import CLibBPF
@testable import Dataplane
import Testing

/// The kernel's verifier walks every path of a program and gives up at 1,000,000 instructions.
/// How many a program needs depends on the kernel's pruning as much as on the code: on Linux
/// 6.18 the filter crossed the limit (it had loaded on earlier kernels), and nothing loaded.
/// Each program must load with at most half the budget, so the next kernel or the next field
/// is met with headroom rather than a filter that does not load.
@Suite(.ownThread, .serialized, .enabled(if: TestLab.isRoot, "needs root: BPF"))
struct VerifierBudgetTests {
    static let budget = 1_000_000

    @Test func everyProgramLoadsWithHalfTheVerifierBudget() throws {
        let obj = try EmbeddedObject.open(pinDirectory: nil)
        defer { bpf_object__close(obj) }
        var logs: [(name: String, buffer: UnsafeMutablePointer<CChar>)] = []
        defer { logs.forEach { $0.buffer.deallocate() } }
        var p = bpf_object__next_program(obj, nil)
        while let prog = p {
            let size = 1 << 24   // the verifier fails a load whose log does not fit
            let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: size)
            buffer.initialize(repeating: 0, count: size)
            // Level 4 (BPF_LOG_STATS): only the totals, "processed N insns …".
            #expect(bpf_program__set_log_buf(prog, buffer, size) == 0)
            #expect(bpf_program__set_log_level(prog, 4) == 0)
            logs.append((String(cString: bpf_program__name(prog)), buffer))
            p = bpf_object__next_program(obj, prog)
        }
        let r = bpf_object__load(obj)
        try #require(r == 0, "the embedded object did not load (errno \(-r))")
        for (name, buffer) in logs {
            let log = String(cString: buffer)
            let processed = log.firstMatch(of: /processed (\d+) insns/).flatMap { Int($0.1) }
            let n = try #require(processed, "\(name): no instruction count in the verifier's log: \(log)")
            print("\(name): \(n) of \(Self.budget) instructions; \(log.split(separator: "\n").filter { $0.contains("verification time") }.joined())")
            #expect(n <= Self.budget / 2, "\(name): the verifier processed \(n) instructions of its \(Self.budget) budget")
        }
    }
}
