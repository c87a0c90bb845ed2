import Lab

extension GeneratorError {
    /// The lab's namespace error in the generator's terms, so `holon generate` reports a missing
    /// namespace as ``noSuchNamespace(_:)`` like every other missing thing it checks.
    init(_ error: NamespaceError) {
        switch error {
        case .missing(let name): self = .noSuchNamespace(name)
        case .system(let name, let step, let code): self = .system("entering network namespace \(name) (\(step))", code)
        }
    }
}

extension NetworkNamespace {
    /// ``enter()`` for the generator's own sender threads, throwing its error type.
    func enterSender() throws(GeneratorError) {
        do { try enter() } catch { throw GeneratorError(error) }
    }
}
