import BPFEmbedding
import Foundation

/// This version's program tags, remembered from the last load on this boot, so that a command
/// that only opens a filter (`rules add`, `filter status`, `holon run` without a configuration)
/// can tell whether the filter runs this version's programs without loading and verifying the
/// object again (~0.1 s). A tag depends on the object and on the kernel (libbpf relocates the
/// object against the kernel's BTF), so an entry is keyed by both: the object's fingerprint and
/// the boot. A missing or unreadable entry only costs the load; nothing is decided from a guess.
enum ProgramTagCache {
    /// Entries kept: one per object fingerprint met on this boot (versions installed side by side).
    static let capacity = 8

    static func path(_ options: DataplaneOptions) -> String { "\(options.stateDirectory)/program-tags" }

    /// The key of this version's object on this boot; nil when the boot cannot be told. Read
    /// once: neither changes while the process runs (and the loop asks every second).
    static let key: String? = {
        guard let boot = try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8) else { return nil }
        let id = boot.trimmingCharacters(in: .whitespacesAndNewlines)
        return id.isEmpty ? nil : "\(id)-\(String(EmbeddedObject.image.digest, radix: 16))"
    }()

    /// This version's tags as recorded on this boot, nil when not recorded.
    static func mine(_ options: DataplaneOptions) -> ProgramIdentity? {
        guard let key, let text = try? String(contentsOfFile: path(options), encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") {
            let f = line.split(separator: " ")
            guard f.count == 3, f[0] == key, let xdp = ProgramIdentity.tag(hex: f[1]) else { continue }
            return ProgramIdentity(xdp: xdp, egress: ProgramIdentity.tag(hex: f[2]))
        }
        return nil
    }

    /// Records this version's tags (read from a loaded object), replacing any entry of the same
    /// key and keeping the newest ``capacity``. Written whole and renamed into place; a failure
    /// to write is ignored (the next command loads the object instead).
    static func record(_ mine: ProgramIdentity, _ options: DataplaneOptions) {
        guard let key, let xdp = mine.xdp else { return }
        let old = (try? String(contentsOfFile: path(options), encoding: .utf8)) ?? ""
        let kept = old.split(separator: "\n").filter { !$0.hasPrefix(key + " ") }.suffix(capacity - 1)
        let line = "\(key) \(ProgramIdentity.hex(xdp)) \(mine.egress.map(ProgramIdentity.hex) ?? "-")"
        let text = (kept + [Substring(line)]).joined(separator: "\n") + "\n"
        try? FileManager.default.createDirectory(atPath: options.stateDirectory, withIntermediateDirectories: true)
        try? Data(text.utf8).write(to: URL(fileURLWithPath: path(options)), options: .atomic)
    }
}
