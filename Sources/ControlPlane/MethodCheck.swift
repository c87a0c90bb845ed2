import Hummingbird

/// The API's paths and the methods each takes, in one place: the router is built from it and
/// ``MethodCheck`` answers from it, so a known path asked with another method gets 405 and an
/// `Allow` header instead of the router's 404.
struct RouteTable: Sendable {
    /// Path segments (`{id}` matches any one segment) and the methods registered on them.
    private(set) var entries: [(segments: [String], methods: [HTTPRequest.Method])] = []

    mutating func add(_ path: String, _ method: HTTPRequest.Method) {
        let segments = Self.segments(path)
        if let i = entries.firstIndex(where: { $0.segments == segments }) {
            entries[i].methods.append(method)
        } else {
            entries.append((segments, [method]))
        }
    }

    /// The methods `path` takes (HEAD wherever GET is), nil for a path the API does not have.
    func methods(for path: String) -> [HTTPRequest.Method]? {
        let asked = Self.segments(path)
        guard let e = entries.first(where: { e in
            e.segments.count == asked.count && zip(e.segments, asked).allSatisfy { $0.hasPrefix(":") || $0 == $1 }
        }) else { return nil }
        var m = e.methods
        if m.contains(.get) && !m.contains(.head) { m.append(.head) }
        return m
    }

    static func segments(_ path: String) -> [String] {
        path.split(separator: "/").map(String.init)
    }
}

struct MethodCheck<Context: RequestContext>: RouterMiddleware {
    let routes: RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let allowed = routes.methods(for: request.uri.path), !allowed.contains(request.method) else {
            return try await next(request, context)
        }
        let allow = allowed.map(\.rawValue).joined(separator: ", ")
        var response = try ControlServer.error(.methodNotAllowed, "\(request.method.rawValue) is not allowed on \(request.uri.path); use \(allow)")
        response.headers[.allow] = allow
        return response
    }
}
