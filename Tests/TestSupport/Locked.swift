import Foundation

/// A value a test shares with a thread or a closure called on another queue.
public final class Locked<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: T
    public init(_ v: T) { value = v }
    public func get() -> T { lock.withLock { value } }
    public func set(_ v: T) { lock.withLock { value = v } }
    /// Changes it in place, under the lock (a count another thread also changes).
    public func update(_ change: (inout T) -> Void) { lock.withLock { change(&value) } }
}
