/// Why the lab could not be built, inspected or removed.
public enum LabError: Error, Sendable, CustomStringConvertible {
    case notRoot
    case ipMissing
    case commandFailed(command: String, status: Int32, stderr: String)

    public var description: String {
        switch self {
        case .notRoot: return "the lab needs root (network namespaces and veth pairs)"
        case .ipMissing: return "`ip` (iproute2) was not found; install iproute2"
        case .commandFailed(let c, let s, let e):
            return "`\(c)` failed (exit \(s)): \(e.trimmingCharacters(in: .whitespacesAndNewlines))"
        }
    }
}
