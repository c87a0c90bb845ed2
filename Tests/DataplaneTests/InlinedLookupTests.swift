import CLibBPF
@testable import Dataplane
import Foundation
import Testing

/// The verifier replaces a map lookup with a few instructions (arrays, per-CPU arrays, arrays of
/// maps) or a direct call (hashes) only when one call site always sees the same map. Where clang
/// merges two lookups of different maps into one call (it did for the rule counters), the site
/// falls back to the generic `bpf_map_lookup_elem` helper, which calls the map's own lookup:
/// two calls, ~10 ns a matched packet on this machine, and nothing else shows it. So: no call to
/// the generic helper is left in a loaded program.
@Suite(.ownThread, .serialized, .enabled(if: TestLab.isRoot, "needs root: BPF"))
struct InlinedLookupTests {
    /// Kernel text addresses from /proc/kallsyms (root sees them).
    static func kernelSymbols(_ names: Set<String>) throws -> [String: UInt64] {
        // Read to the end: procfs reports a size of 0, which a size-based read takes at its word.
        let handle = try #require(FileHandle(forReadingAtPath: "/proc/kallsyms"))
        defer { try? handle.close() }
        let text = String(decoding: try handle.readToEnd() ?? Data(), as: UTF8.self)
        var found: [String: UInt64] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard parts.count >= 3, names.contains(String(parts[2])), let a = UInt64(parts[0], radix: 16), a != 0 else { continue }
            found[String(parts[2])] = a
        }
        return found
    }

    /// The program's instructions as the kernel runs them (after the verifier's rewrites).
    static func translated(_ fd: Int32) throws -> [(code: UInt8, src: UInt8, imm: Int32)] {
        var info = bpf_prog_info()
        var len = UInt32(MemoryLayout<bpf_prog_info>.size)
        try #require(bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
        let size = Int(info.xlated_prog_len)
        try #require(size > 0, "the kernel shows no translated instructions")
        var bytes = [UInt8](repeating: 0, count: size)
        try bytes.withUnsafeMutableBytes { buf in
            var again = bpf_prog_info()
            again.xlated_prog_len = UInt32(size)
            again.xlated_prog_insns = UInt64(UInt(bitPattern: buf.baseAddress))
            var l = UInt32(MemoryLayout<bpf_prog_info>.size)
            try #require(bpf_obj_get_info_by_fd(fd, &again, &l) == 0)
        }
        // struct bpf_insn: code, dst_reg:4 | src_reg:4, off (16 bits), imm (32 bits).
        return stride(from: 0, to: size, by: 8).map { i in
            (bytes[i], bytes[i + 1] >> 4, Int32(bitPattern: UInt32(bytes[i + 4]) | UInt32(bytes[i + 5]) << 8
                                                | UInt32(bytes[i + 6]) << 16 | UInt32(bytes[i + 7]) << 24))
        }
    }

    @Test func everyMapLookupIsInlinedOrCalledDirectly() throws {
        let symbols = try Self.kernelSymbols(["__bpf_call_base", "bpf_map_lookup_elem"])
        let base = try #require(symbols["__bpf_call_base"], "no __bpf_call_base in /proc/kallsyms")
        let generic = try #require(symbols["bpf_map_lookup_elem"], "no bpf_map_lookup_elem in /proc/kallsyms")
        let obj = try EmbeddedObject.open(pinDirectory: nil)
        defer { bpf_object__close(obj) }
        let r = bpf_object__load(obj)
        try #require(r == 0, "the embedded object did not load (errno \(-r))")
        var checked = 0
        var p = bpf_object__next_program(obj, nil)
        while let prog = p {
            let name = String(cString: bpf_program__name(prog))
            let insns = try Self.translated(bpf_program__fd(prog))
            // A helper call: BPF_JMP | BPF_CALL with src_reg 0; its imm is the helper's address
            // less __bpf_call_base.
            let helperCalls = insns.enumerated().filter { $0.element.code == 0x85 && $0.element.src == 0 }
            let throughGeneric = helperCalls.filter { base &+ UInt64(bitPattern: Int64($0.element.imm)) == generic }.map(\.offset)
            #expect(throughGeneric.isEmpty, "\(name): map lookups through the generic helper at instructions \(throughGeneric)")
            checked += helperCalls.filter { $0.element.imm != 0 }.count
            p = bpf_object__next_program(obj, prog)
        }
        // The dump shows helper addresses only where the kernel lets this process see them
        // (otherwise every imm is 0 and nothing above could fail).
        #expect(checked > 0, "no helper call with its address in any program: the translated dump hid them")
    }
}
