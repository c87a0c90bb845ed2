import Foundation
import Hummingbird

/// The routes that change the filter, each behind ``ControlAccess`` (the token, or loopback
/// when none is set; never another origin) — checked before a body is read, so who may not
/// change anything cannot make the server read an upload either.
extension ControlServer {
    static let changeRoutes: [(String, HTTPRequest.Method)] = [
        ("/api/rules", .post), ("/api/rules/:id", .delete),
        ("/api/mode", .get), ("/api/mode", .put), ("/api/allowlist", .get), ("/api/allowlist", .put),
    ]

    static func addChangeRoutes(to router: Router<BasicRequestContext>, filters: FilterGroup, metrics: MetricsExporter,
                                access: ControlAccess) {
        /// `handler` once `request` may change the filter.
        func guarded(_ handler: @escaping @Sendable (Request, BasicRequestContext) async throws -> Response)
            -> @Sendable (Request, BasicRequestContext) async throws -> Response {
            { request, context in
                if let refusal = access.refusal(request) { throw refusal }
                return try await handler(request, context)
            }
        }
        router.post("/api/rules", use: guarded { request, _ in
            let body = try await RequestBody.decode(OperatorRuleChange.Request.self, from: request, expected: OperatorRuleChange.expected)
            let rule = try OperatorRuleChange.parse(body)
            return try json(try OperatorRuleChange.add(rule, to: filters.chosen(body.interface)), status: .created)
        })
        router.delete("/api/rules/:id", use: guarded { request, context in
            let id = try RuleChange.ruleID(context.parameters.get("id"))
            let holding = try filters.holding(id, interface: request.uri.queryParameters.get("interface"))
            // Its counters reach the per-owner totals before they go with it (as for release).
            for m in holding { metrics.observe(m) }
            return try json(try OperatorRuleChange.remove(id, from: holding))
        })
        router.get("/api/mode") { _, _ in try json(try FilterPolicy.mode(of: filters)) }
        router.put("/api/mode", use: guarded { request, _ in
            let mode = try await RequestBody.decode(FilterPolicy.Mode.self, from: request, expected: FilterPolicy.expectedMode)
            return try json(try FilterPolicy.setMode(mode, of: filters))
        })
        router.get("/api/allowlist") { _, _ in try json(try FilterPolicy.allowlist(of: filters)) }
        router.put("/api/allowlist", use: guarded { request, _ in
            let list = try await RequestBody.decode(FilterPolicy.Allowlist.self, from: request, expected: FilterPolicy.expectedAllowlist)
            return try json(try FilterPolicy.setAllowlist(list, of: filters))
        })
    }
}
