import CLabNamespace
import Foundation

/// A named network namespace (/run/netns/NAME, as `ip netns add` makes it), entered with
/// setns(2): the one place in Holon that moves a thread between namespaces.
///
/// setns moves only the calling thread, so code run "inside" must stay on that thread: no
/// `await` in between. We never use `ip netns exec` for our own work: it also enters a new mount
/// namespace and remounts /sys, which hides bpffs and the maps pinned there; setns on the network
/// namespace alone leaves every mount where it was.
public struct NetworkNamespace: Sendable, Hashable {
    public let name: String
    public var path: String { "/run/netns/\(name)" }

    public init(_ name: String) { self.name = name }

    public var exists: Bool { FileManager.default.fileExists(atPath: path) }

    /// Moves the calling thread into the namespace for good: use it on threads you own (a
    /// sender thread), never on a pool thread someone else will reuse.
    public func enter() throws(NamespaceError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let e = errno
            throw e == ENOENT ? .missing(name) : .system(namespace: name, step: "open \(path)", code: e)
        }
        defer { close(fd) }
        let rc = holon_lab_setns_net(fd)
        if rc < 0 { throw .system(namespace: name, step: "setns", code: -rc) }
    }

    /// Runs `body` with the calling thread inside the namespace, then moves it back to where it
    /// was. A failure to get in is handed to `failure`, so callers keep one error type. Sockets
    /// created inside stay bound to the namespace after `body` returns.
    public func run<T, E: Error>(mapping failure: (NamespaceError) -> E, _ body: () throws(E) -> T) throws(E) -> T {
        // The thread's own namespace, not the process's: another thread may have moved.
        let home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
        if home < 0 { throw failure(.system(namespace: name, step: "open /proc/thread-self/ns/net", code: errno)) }
        do { try enter() } catch {
            close(home)
            throw failure(error)
        }
        // Going back to a namespace the thread was just in cannot fail short of the kernel
        // refusing its own fd; there is nothing better to do then than carry on.
        defer { _ = holon_lab_setns_net(home); close(home) }
        return try body()
    }

    /// ``run(mapping:_:)`` for untyped callers: a failure to get in throws ``NamespaceError``.
    public func run<T>(_ body: () throws -> T) throws -> T {
        try run(mapping: { $0 as any Error }, body)
    }

    /// Runs `body` inside `namespace`, or where the thread is when it is nil.
    public static func run<T>(in namespace: NetworkNamespace?, _ body: () throws -> T) throws -> T {
        guard let namespace else { return try body() }
        return try namespace.run(body)
    }
}
