import Glibc

/// Why a thread could not step into a network namespace. Each case names the namespace, so a
/// message read alone says which one.
public enum NamespaceError: Error, Sendable, Hashable, CustomStringConvertible {
    /// /run/netns/NAME is not there: no `ip netns add NAME` (or `holon lab up`) made it.
    case missing(String)
    /// A system call failed while entering the namespace: which step, and its errno.
    case system(namespace: String, step: String, code: Int32)

    public var description: String {
        switch self {
        case .missing(let name):
            return "no network namespace '\(name)': create it (e.g. `holon lab up`) or check `ip netns list`"
        case .system(let name, let step, let code):
            return "entering network namespace \(name): \(step): \(String(cString: strerror(code))) (errno \(code))"
        }
    }
}
