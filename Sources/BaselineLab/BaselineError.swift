/// Why the baseline lab could not be built, inspected, driven or removed; one line each.
public enum BaselineError: Error, Sendable, CustomStringConvertible {
    case notRoot
    case missingProgram(String, package: String)
    case commandFailed(command: String, status: Int32, output: String)
    case notUp(String)
    case timeout(String)
    case http(String)
    case webDriver(String)
    case invalid(String)

    public var description: String {
        switch self {
        case .notRoot: return "the baseline lab needs root (namespaces, daemons, addresses)"
        case .missingProgram(let p, let pkg): return "\(p) was not found; install \(pkg) (scripts/setup)"
        case .commandFailed(let c, let s, let o):
            let last = o.split(separator: "\n").suffix(3).joined(separator: " | ")
            return "`\(c)` failed (exit \(s)): \(last)"
        case .notUp(let what): return "\(what) is not up (run `holon baseline up`)"
        case .timeout(let what): return "timed out waiting for \(what)"
        case .http(let m): return "HTTP: \(m)"
        case .webDriver(let m): return "WebDriver: \(m)"
        case .invalid(let m): return m
        }
    }
}
