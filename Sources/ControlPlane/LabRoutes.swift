import Foundation
import Hummingbird

/// `/api/lab/generate`: the lab's traffic generator over HTTP, for trying Holon in the lab
/// from the dashboard's machine. Not there (404, with why) unless the lab is up.
extension ControlServer {
    static let labRoutes: [(String, HTTPRequest.Method)] = [
        ("/api/lab/generate", .get), ("/api/lab/generate", .post), ("/api/lab/generate", .delete),
    ]

    static func addLabRoutes(to router: Router<BasicRequestContext>, lab: LabGeneration?, access: ControlAccess) {
        @Sendable func labHere() throws -> LabGeneration {
            guard let lab else {
                throw Refusal(status: .notFound, message: "this control plane drives no lab generator (holon run in the lab has one)")
            }
            try lab.requireLab()
            return lab
        }
        router.get("/api/lab/generate") { _, _ in try json(try labHere().status) }
        router.post("/api/lab/generate") { request, _ in
            if let refusal = access.refusal(request) { throw refusal }
            let lab = try labHere()
            let body = try await RequestBody.decode(LabGeneration.Request.self, from: request, expected: LabGeneration.expected)
            return try json(try lab.start(body), status: .accepted)
        }
        router.delete("/api/lab/generate") { request, _ in
            if let refusal = access.refusal(request) { throw refusal }
            guard let stopped = await (try labHere()).stop() else {
                throw Refusal(status: .notFound, message: "no generation is running")
            }
            return try json(stopped)
        }
    }
}
