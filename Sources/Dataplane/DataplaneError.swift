import Glibc

/// What went wrong loading, attaching or driving the XDP program.
public enum DataplaneError: Error, Sendable, CustomStringConvertible {
    case notRoot
    /// A libbpf or system call failed; `code` is the (positive) errno.
    case system(String, code: Int32)
    case namespaceMissing(String)
    case interfaceMissing(String, namespace: String?)
    /// An interface XDP cannot protect, and why.
    case interfaceUnusable(String, reason: String)
    case notAttached(String)
    /// The filter pinned there was attached by an earlier version (a map is missing).
    case outdatedFilter(String, missing: String)
    /// A takeover of the filter pinned there was cut short: its program and its table may be
    /// of two versions until `filter attach` finishes it.
    case takeoverCutShort(String)
    case compile(RuleCompileError)
    case stateFile(String)
    /// The rule state file does not describe the table the filter enforces.
    case stateMismatch(String)
    /// A sidecar (`holon run`, this pid) holds the filter.
    case inUse(pid: Int32)
    /// The filter pinned there, which this handle changes, was detached (or attached anew)
    /// before the change was made, or, `written`, while it was being written.
    case detachedMeanwhile(String, written: Bool)

    public var description: String { described(attach: DataplaneOptions.standard.attachCommand) }

    /// The message, with `attach` as the command that mends a filter not (or not wholly)
    /// attached: ``DataplaneOptions/attachCommand`` where the caller knows which filter it is.
    public func described(attach: String) -> String {
        switch self {
        case .notRoot: return "the data plane needs root (BPF, network namespaces)"
        case .system(let what, let code): return "\(what): \(String(cString: strerror(code))) (errno \(code))"
        case .namespaceMissing(let n):
            // The lab's namespace is missing where a command fell back on the lab: on a real host,
            // the interface is what the operator has to name.
            return n == DataplaneOptions.standard.namespace
                ? "network namespace \(n) does not exist: run `holon lab up` for the lab, or name your interface with --interface"
                : "network namespace \(n) does not exist (`ip netns list` shows those that do)"
        case .interfaceMissing(let i, let n): return "interface \(i) not found" + (n.map { " in namespace \($0)" } ?? "")
        case .interfaceUnusable(let i, let why): return "cannot protect \(i): \(why)"
        case .notAttached(let dir): return "no filter is attached (nothing pinned in \(dir)); run `\(attach)`"
        case .outdatedFilter(let dir, let map):
            return "the filter pinned in \(dir) was attached by an earlier holon, whose program has no \(map) map; run `\(attach)` again: it keeps the rules"
        case .takeoverCutShort(let dir):
            return "a takeover of the filter pinned in \(dir) by another holon version was cut short (its program and its table may be of two versions); run `\(attach)` again: it finishes it, keeping the rules"
        case .compile(let e): return "rule table: \(e)"
        case .stateFile(let m): return "rule state file: \(m)"
        case .stateMismatch(let m): return "rule state: \(m)"
        case .detachedMeanwhile(let dir, let written):
            return written
                ? "the filter pinned in \(dir) was detached while this change was being written: nothing enforces it; `\(attach)` attaches a filter again with the table the state file holds"
                : "the filter pinned in \(dir) was detached before this change could be made: nothing was changed; run `\(attach)` and the change again"
        case .inUse(let pid):
            return "holon run (pid \(pid)) is protecting this filter: stop it first, or use --force (the sidecar then re-attaches to the next filter, or stops)"
        }
    }

    /// Turns a libbpf-style return (negative errno, or -1 with errno set) into a throw.
    static func check(_ r: Int32, _ what: @autoclosure () -> String) throws(DataplaneError) {
        if r < 0 { throw .system(what(), code: r == -1 ? errno : -r) }
    }
}
