import Lab

/// Runs `body` with the calling thread inside network namespace `name` (nil: where it is),
/// through the lab's one setns (``NetworkNamespace``), keeping the data plane's own errors and
/// messages.
func inNetworkNamespace<T>(_ name: String?, _ body: () throws(DataplaneError) -> T) throws(DataplaneError) -> T {
    guard let name else { return try body() }
    return try NetworkNamespace(name).run(mapping: DataplaneError.init, body)
}

extension DataplaneError {
    init(_ error: NamespaceError) {
        switch error {
        case .missing(let name): self = .namespaceMissing(name)
        case .system(let name, _, let code): self = .system("entering network namespace \(name)", code: code)
        }
    }
}
