import Dataplane
import Foundation
import Hummingbird
import Logging
import Rules
import Sidecar

/// The HTTP face of the live loop:
///
/// | route | what |
/// |---|---|
/// | `GET /` | the dashboard |
/// | `GET /metrics` | Prometheus text format |
/// | `GET /api/status` | filter and loop counters, calibration, uptime |
/// | `GET /api/rules` | the filter's table with per-rule counters and owner |
/// | `GET /api/incidents` | incidents, newest first |
/// | `GET /api/events` | server-sent events: the kept events, then each new one (`?follow=false`: only the kept ones) |
public enum ControlServer {
    public static func router(state: ControlState, filter: any FilterSource, metrics: MetricsExporter) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(string: Dashboard.html)))
        }
        router.get("/metrics") { _, _ in
            let text = metrics.render(filter: filter.filterStats(), sidecar: state.stats, rules: filter.filterRules,
                                      counters: filter.ruleCounters())
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        router.get("/api/status") { _, _ in
            try json(StatusBody(uptime_s: Date().timeIntervalSince(state.startedAt), sidecar: state.stats,
                                calibration: state.calibration, filter: filter.filterStats(), rules: filter.filterRules.count))
        }
        router.get("/api/rules") { _, _ in
            let counters = filter.ruleCounters()
            let base = metrics.sidecarRuleBase
            return try json(filter.filterRules.map { r in
                RuleBody(id: r.id, rule: SidecarEvent.short(r), name: r.name, owner: r.id >= base ? "sidecar" : "operator",
                         ttl_s: r.ttlSeconds, created_ns: r.createdAt, explanation: r.explanation,
                         hits: counters[r.id]?.hits ?? 0, drops: counters[r.id]?.drops ?? 0)
            })
        }
        router.get("/api/incidents") { _, _ in try json(state.incidents) }
        router.get("/api/events") { request, _ in
            let follow = request.uri.queryParameters.get("follow") != "false"
            let headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache"]
            guard follow else {
                let text = state.recentEvents.map { "data: \($0)\n\n" }.joined()
                return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
            }
            let (replay, stream) = state.subscribe()
            return Response(status: .ok, headers: headers, body: ResponseBody { writer in
                for line in replay { try await writer.write(ByteBuffer(string: "data: \(line)\n\n")) }
                for await line in stream { try await writer.write(ByteBuffer(string: "data: \(line)\n\n")) }
                try await writer.finish(nil)
            })
        }
        return router
    }

    /// The server on `host:port` (run it in a ServiceGroup, or with `runService()`);
    /// `onListening` gets the bound port once it listens.
    public static func application(host: String, port: Int, state: ControlState, filter: any FilterSource,
                                   metrics: MetricsExporter,
                                   onListening: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        var logger = Logger(label: "holon.http")
        logger.logLevel = .warning
        return Application(router: router(state: state, filter: filter, metrics: metrics),
                           configuration: .init(address: .hostname(host, port: port)),
                           onServerRunning: { channel in await onListening(channel.localAddress?.port ?? port) },
                           logger: logger)
    }

    static func json<T: Encodable>(_ value: T) throws -> Response {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return Response(status: .ok, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(data: try e.encode(value))))
    }

    /// Every key is always there: absent values are null.
    struct StatusBody: Encodable {
        var uptime_s: Double
        var sidecar: SidecarStats
        @NullWhenAbsent var calibration: [String: Double]?
        @NullWhenAbsent var filter: DataplaneStats?
        var rules: Int
    }

    struct RuleBody: Encodable {
        var id: UInt32
        var rule: String
        @NullWhenAbsent var name: String?
        var owner: String
        @NullWhenAbsent var ttl_s: UInt32?
        @NullWhenAbsent var created_ns: UInt64?
        @NullWhenAbsent var explanation: String?
        var hits: UInt64
        var drops: UInt64
    }
}
