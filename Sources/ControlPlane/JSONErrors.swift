import Foundation
import Hummingbird

/// Every error the API answers is `{"error": "one line"}`: refusals thrown by handlers, and
/// what the framework throws itself (an unknown path, a body it would not read) — whose own
/// answers are empty or plain text, which a client of a JSON API would have to special-case.
struct JSONErrors<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let refusal as Refusal {
            return try ControlServer.error(refusal)
        } catch let e as HTTPError {
            var r = try ControlServer.error(e.status, e.body.map(Self.oneLine) ?? Self.message(e.status, request))
            for field in e.headers { r.headers.append(field) }
            return r
        } catch let e as any HTTPResponseError {
            return try ControlServer.error(e.status, Self.message(e.status, request))
        } catch {
            return try ControlServer.error(.internalServerError, "the request failed: " + Self.oneLine("\(error)"))
        }
    }

    static func message(_ status: HTTPResponse.Status, _ request: Request) -> String {
        switch status {
        case .notFound: return "no such path: \(request.uri.path)"
        case .contentTooLarge: return "the body is larger than \(RequestBody.limit) bytes, the most a change takes"
        default: return status.reasonPhrase
        }
    }

    static func oneLine(_ s: String) -> String {
        s.split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}
