/// A program that could not be started, or that ended badly when its caller needed it to succeed.
public enum SpawnError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The child could not be started (`errno`-style code): the program is missing or not
    /// executable, or the fork failed.
    case cannotStart(program: String, code: Int32)
    /// A pipe or descriptor the child needs could not be made.
    case system(String, Int32)

    public var description: String {
        switch self {
        case .cannotStart(let program, let code): return "cannot start \(program): \(String(cString: strerror(code)))"
        case .system(let what, let code): return "\(what): \(String(cString: strerror(code)))"
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
