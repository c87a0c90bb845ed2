import CHolonXDP

/// Runs `body` with the calling thread inside network namespace `name` (nil: where it is).
///
/// setns(2) moves one thread, so `body` must be synchronous: no `await` may move it to
/// another thread. The mount namespace is untouched, so bpffs stays reachable (unlike
/// `ip netns exec`, which remounts /sys).
func inNetworkNamespace<T>(_ name: String?, _ body: () throws(DataplaneError) -> T) throws(DataplaneError) -> T {
    guard let name else { return try body() }
    let old = holon_netns_enter(name)
    if old == -2 { throw .namespaceMissing(name) }   // ENOENT
    try DataplaneError.check(old, "entering network namespace \(name)")
    defer { _ = holon_netns_restore(old) }
    return try body()
}

/// Entering a named network namespace for synchronous work (sockets created inside stay
/// bound to it after `body` returns), for tools and tests of the lab.
public enum NetworkNamespace {
    public static func run<T>(_ name: String, _ body: () throws -> T) throws -> T {
        let old = holon_netns_enter(name)
        if old == -2 { throw DataplaneError.namespaceMissing(name) }
        try DataplaneError.check(old, "entering network namespace \(name)")
        defer { _ = holon_netns_restore(old) }
        return try body()
    }
}
