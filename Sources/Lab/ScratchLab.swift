import Foundation
import Synchronization

/// Private labs for tests and benchmarks, named after the process that owns them, so a later
/// run can tell a leftover of a process that died (a crash, a killed test run) from a lab in use.
extension LabTopology {
    /// A fresh scratch topology for this process: tag `p<pid>-<serial>`, namespaces
    /// `<prefix>-p<pid>-<serial>-gen|flt` (see ``scratch(prefix:tag:)``).
    public static func owned(prefix: String) -> LabTopology {
        scratch(prefix: prefix, tag: "p\(getpid())-\(ownedSerial.add(1, ordering: .relaxed).newValue)")
    }

    private static let ownedSerial = Atomic<Int>(0)
}

extension Lab {
    /// The namespaces of ``LabTopology/owned(prefix:)`` labs that exist now, this process's
    /// included.
    public static func owned(prefix: String) -> [String] {
        namespaces().filter { $0.hasPrefix("\(prefix)-p") }.sorted()
    }

    /// Removes the namespaces of owned labs whose process no longer runs (which removes their
    /// veth pair and any program on it).
    public static func removeStale(prefix: String) {
        for name in owned(prefix: prefix) {
            let rest = name.dropFirst(prefix.count + 2)
            guard let pid = rest.split(separator: "-").first.flatMap({ Int32($0) }) else { continue }
            if kill(pid, 0) == 0 || errno == EPERM { continue }
            _ = try? IPCommand.runStatus(["netns", "del", name])
        }
    }
}
