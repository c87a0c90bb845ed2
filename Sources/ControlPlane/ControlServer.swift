import Dataplane
import Flowspec
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import Rules
import ServiceLifecycle
import Sidecar

/// The HTTP face of the live loop:
///
/// | route | what |
/// |---|---|
/// | `GET /` | the dashboard, the current state already in it |
/// | `GET /metrics` | Prometheus text format |
/// | `GET /api/status` | filter and loop counters, calibration, uptime |
/// | `GET /api/rules` | the filter's table: counters, owner, age, TTL left, incident (every interface's, each rule with its `interface`, when `holon run` protects several); `?owner=sidecar\|operator`, `?offset=K&limit=N` for a page (``RulePage``) |
/// | `GET /api/incidents` | incidents, newest first |
/// | `GET /api/history` | the traffic time series, oldest first (`?minutes=N`, `?since_ms=T`) |
/// | `GET /api/impact` | what the filter costs legitimate traffic |
/// | `GET /api/snapshot` | all of the above the dashboard shows, in one object (`?minutes=N` of history, `?events=false`) |
/// | `GET /api/announcements` | each rule's BGP Flowspec state: announced, withdrawn, refused and why (`{"bgp": false}` without `--bgp`) |
/// | `GET /api/events` | server-sent events: the kept events, then each new one (`?follow=false`: only the kept ones) |
/// | `GET /api/capture` | the live loop's next samples as a pcap (`?count=N&seconds=S`, 1000 and 10 by default; `&interface=NAME` with several); token or loopback, as a change |
/// | `POST /api/rules/{id}/release` | take a live-loop rule out now (`holon rules release`); from the filter holding it (`?interface=NAME` to say which) |
/// | `POST /api/rules/{id}/pin` | keep a live-loop rule past its TTL (`holon rules pin`) |
/// | `POST /api/rules` | add an operator's rule: `{"rule": "(rule …)", "match_all": false}` (`:id N` optional; without it, the next free id) → 201 (`holon rules add`); to every interface's filter, or `"interface": NAME`'s |
/// | `DELETE /api/rules/{id}` | delete an operator's rule (`holon rules del`) from every filter holding it (`?interface=NAME`: one); the live loop's are released instead (409) |
/// | `GET/PUT /api/mode` | `{"observe": true}`: observe only, or enforce (every filter) |
/// | `GET/PUT /api/allowlist` | `{"prefixes": ["192.0.2.53/32", …]}`: the whole allowlist |
/// | `GET/POST/DELETE /api/lab/generate` | the lab's generator: `{"scenario": NAME, "pps": N, "duration": S}` starts one (202; 409 while one runs), DELETE stops it, GET watches; 404 unless the lab is up |
///
/// Changes (POST, PUT, DELETE) go through ``ControlAccess``; their bodies are JSON of at most
/// ``RequestBody/limit`` bytes (larger: 413; not the expected JSON: 400).
///
/// Every GET route answers HEAD; a known path asked with another method gets 405 and `Allow`.
/// Errors are `{"error": "one line"}`.
public enum ControlServer {
    /// How long a connection may sit without a complete request (or between requests) before
    /// the server closes it: slow or abandoned clients cannot hold connections forever.
    public static let defaultIdleTimeout: Duration = .seconds(15)

    public static func router(state: ControlState, filter: any FilterSource, metrics: MetricsExporter,
                              access: ControlAccess = ControlAccess(), lab: LabGeneration? = nil) -> Router<BasicRequestContext> {
        router(state: state, filters: FilterGroup(filter), metrics: metrics, access: access, lab: lab)
    }

    /// The routes over several filters (``FilterGroup``): one per interface `holon run` protects.
    public static func router(state: ControlState, filters: FilterGroup, metrics: MetricsExporter,
                              access: ControlAccess = ControlAccess(), lab: LabGeneration? = nil) -> Router<BasicRequestContext> {
        var routes = RouteTable()
        for (path, method) in [("/", HTTPRequest.Method.get), ("/metrics", .get), ("/api/status", .get), ("/api/rules", .get),
                               ("/api/incidents", .get), ("/api/history", .get), ("/api/impact", .get), ("/api/snapshot", .get),
                               ("/api/announcements", .get), ("/api/events", .get), ("/api/capture", .get), ("/api/rules/:id/release", .post), ("/api/rules/:id/pin", .post)] + changeRoutes + labRoutes {
            routes.add(path, method)
        }
        let router = Router(options: .autoGenerateHeadEndpoints)
        // Outermost: whatever is thrown below, the answer is a one-line JSON error.
        router.add(middleware: JSONErrors())
        router.add(middleware: MethodCheck(routes: routes))
        router.get("/") { _, _ in
            let page = Dashboard.page(snapshot: try snapshot(state: state, filters: filters, metrics: metrics, minutes: Dashboard.chartMinutes))
            return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: page)))
        }
        router.get("/metrics") { _, _ in
            let text = metrics.render(filters: readings(filters), sidecar: state.stats, heartbeat: state.oldestHeartbeat)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        router.get("/api/status") { _, _ in try json(status(state: state, filters: filters, readings: readings(filters))) }
        router.get("/api/rules") { request, _ in
            let page = try RulePage(request)
            let read = readings(filters)
            let picked = page.rules(of: read, sidecarBase: metrics.sidecarRuleBase)
            // A page at a time into the answer: the whole of a million-rule table as one
            // document took 2 GB of the daemon's memory for the 23 s it took to write.
            return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody { writer in
                try await writer.write(ByteBuffer(string: "["))
                var first = true
                for start in stride(from: 0, to: picked.count, by: Self.rulesPerWrite) {
                    // A stop does not wait for the rest (a million rules take 20 s): the answer
                    // ends unfinished, which the client sees as the broken transfer it is.
                    if Task.isShuttingDownGracefully { throw CancellationError() }
                    let chunk = Array(picked[start..<min(start + Self.rulesPerWrite, picked.count)])
                    let array = try encoded(views(chunk, state: state, readings: read, metrics: metrics))
                    // The chunk's own array, without its brackets, after a comma but the first time.
                    var part = ByteBuffer(string: first ? "" : ",")
                    part.writeBytes(array.dropFirst().dropLast())
                    first = false
                    try await writer.write(part)
                }
                try await writer.write(ByteBuffer(string: "]"))
                try await writer.finish(nil)
            })
        }
        router.get("/api/incidents") { _, _ in try json(state.incidents) }
        router.get("/api/history") { request, _ in
            let q = request.uri.queryParameters
            var since = Int64.min
            if let m = q.get("minutes") {
                guard let minutes = Double(m), minutes > 0, minutes <= 1440 else {
                    return try error(.badRequest, "minutes must be a number above 0 and at most 1440, got '\(m)'")
                }
                since = Int64(Date().timeIntervalSince1970 * 1000 - minutes * 60_000)
            }
            if let t = q.get("since_ms") {
                guard let ms = Int64(t) else { return try error(.badRequest, "since_ms must be Unix milliseconds, got '\(t)'") }
                since = max(since, ms)
            }
            return try json(state.history(since: since))
        }
        router.get("/api/impact") { _, _ in try json(impact(state: state, readings: readings(filters))) }
        router.get("/api/announcements") { _, _ in
            struct Body: Encodable {
                var bgp: Bool
                var announcements: [Announcement]
            }
            let list = state.announcements
            return try json(Body(bgp: list != nil, announcements: list ?? []))
        }
        router.get("/api/snapshot") { request, _ in
            // The dashboard polls this every second: it asks for its chart's window and no events
            // (it has the stream for those).
            let q = request.uri.queryParameters
            var minutes: Double?
            if let m = q.get("minutes") {
                guard let v = Double(m), v > 0, v <= 1440 else {
                    return try error(.badRequest, "minutes must be a number above 0 and at most 1440, got '\(m)'")
                }
                minutes = v
            }
            guard let events = q.get("events").map({ ["true": true, "false": false][$0] }) ?? true else {
                return try error(.badRequest, "events must be true or false, got '\(q.get("events") ?? "")'")
            }
            return try json(snapshot(state: state, filters: filters, metrics: metrics, minutes: minutes, events: events))
        }
        let eventHeaders: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache"]
        // HEAD must not subscribe: the stream it would open is never read.
        router.head("/api/events") { _, _ in Response(status: .ok, headers: eventHeaders) }
        router.get("/api/events") { request, _ in
            let follow = request.uri.queryParameters.get("follow") != "false"
            guard follow else {
                let text = state.recentEvents.map { "data: \($0)\n\n" }.joined()
                return Response(status: .ok, headers: eventHeaders, body: .init(byteBuffer: ByteBuffer(string: text)))
            }
            guard let (replay, stream) = state.subscribeIfRoom() else {
                return try error(.serviceUnavailable, "\(state.maxStreams) event streams are open already; try again later, or poll /api/events?follow=false")
            }
            return Response(status: .ok, headers: eventHeaders, body: ResponseBody { writer in
                for line in replay { try await writer.write(ByteBuffer(string: "data: \(line)\n\n")) }
                for await line in stream { try await writer.write(ByteBuffer(string: "data: \(line)\n\n")) }
                try await writer.finish(nil)
            })
        }
        for change in RuleChange.allCases {
            router.post("/api/rules/:id/\(change.rawValue)") { request, context in
                if let refusal = access.refusal(request) { return try error(refusal) }
                do {
                    let id = try RuleChange.ruleID(context.parameters.get("id"))
                    let member = try filters.holder(of: id, interface: request.uri.queryParameters.get("interface"))
                    // A released rule's counters go with it: the per-owner totals take them just
                    // before, as a rule is often released while its attack is still dropped.
                    // (Not inside the change: that runs under the filter's file lock.)
                    metrics.observe(member)
                    // Under the filter's file lock: it waits at most for a write of the sidecar's.
                    var outcome = try change.apply(to: id, in: member.source)
                    outcome.interface = member.name
                    return try json(outcome)
                } catch let refusal as RuleChange.Refusal {
                    return try error(refusal)
                }
            }
        }
        addChangeRoutes(to: router, filters: filters, metrics: metrics, access: access)
        addLabRoutes(to: router, lab: lab, access: access)
        addCaptureRoute(to: router, filters: filters, access: access)
        return router
    }

    /// The server on `host:port` (run it in a ServiceGroup, or with `runService()`), HTTPS with
    /// `tls`; `onListening` gets the bound port once it listens.
    public static func application(host: String, port: Int, state: ControlState, filter: any FilterSource,
                                   metrics: MetricsExporter, access: ControlAccess? = nil, lab: LabGeneration? = nil,
                                   tls: ControlTLS? = nil, idleTimeout: Duration = defaultIdleTimeout,
                                   onListening: @escaping @Sendable (Int) async -> Void = { _ in }) throws -> some ApplicationProtocol {
        try application(host: host, port: port, state: state, filters: FilterGroup(filter), metrics: metrics, access: access, lab: lab,
                        tls: tls, idleTimeout: idleTimeout, onListening: onListening)
    }

    /// The server over several filters (``FilterGroup``).
    public static func application(host: String, port: Int, state: ControlState, filters: FilterGroup,
                                   metrics: MetricsExporter, access: ControlAccess? = nil, lab: LabGeneration? = nil,
                                   tls: ControlTLS? = nil, idleTimeout: Duration = defaultIdleTimeout,
                                   onListening: @escaping @Sendable (Int) async -> Void = { _ in }) throws -> some ApplicationProtocol {
        var logger = Logger(label: "holon.http")
        logger.logLevel = .warning
        let access = access ?? ControlAccess(loopback: ControlAccess.isLoopback(host: host))
        let (seconds, atto) = idleTimeout.components
        let idleNs = seconds * 1_000_000_000 + atto / 1_000_000_000
        let http1 = HTTPServerBuilder.http1(configuration: .init(idleTimeout: .nanoseconds(idleNs)))
        return Application(router: router(state: state, filters: filters, metrics: metrics, access: access, lab: lab),
                           server: try tls.map { try $0.server(http1) } ?? http1,
                           configuration: .init(address: .hostname(host, port: port)),
                           services: [CounterWatch(filters: filters, metrics: metrics)],
                           onServerRunning: { channel in await onListening(channel.localAddress?.port ?? port) },
                           logger: logger)
    }

    /// Rules `GET /api/rules` encodes and writes at once.
    static let rulesPerWrite = 1_000

    static func encoded<T: Encodable>(_ value: T) throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return try e.encode(value)
    }

    static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(data: try encoded(value))))
    }

    /// `{"error": "…"}` with `status`.
    static func error(_ status: HTTPResponse.Status, _ message: String) throws -> Response {
        var r = try json(["error": message], status: status)
        if status == .unauthorized { r.headers[.wwwAuthenticate] = "Bearer" }
        return r
    }

    static func error(_ refusal: RuleChange.Refusal) throws -> Response { try error(refusal.status, refusal.message) }
}

/// Reads the rules' counters once a second, so the per-owner totals of `/metrics` keep the
/// drops of rules retired between two scrapes (the filter forgets a rule's counters with it).
struct CounterWatch: Service {
    let filters: FilterGroup
    let metrics: MetricsExporter

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                for m in filters.members { metrics.observe(m) }
                try await Task.sleep(for: .seconds(1))
            }
        }
    }
}
