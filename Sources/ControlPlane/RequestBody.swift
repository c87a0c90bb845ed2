import Foundation
import Hummingbird

/// The JSON body of a change request, read with a size limit and decoded with one-line errors:
/// a body over ``limit`` is a 413 (read no further than the limit, so a huge upload costs the
/// server nothing), one that is not the expected JSON a 400 that shows the expected form.
enum RequestBody {
    /// The largest body taken. A rule is a line and an allowlist a few hundred prefixes;
    /// anything near this is a mistake or an attack on the server itself.
    static let limit = 64 * 1024

    static func decode<T: Decodable>(_ type: T.Type, from request: Request, expected: String) async throws -> T {
        let tooLarge = Refusal(status: .contentTooLarge, message: "the body is larger than \(limit) bytes, the most a change takes")
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit { throw tooLarge }
        let buffer: ByteBuffer
        do { buffer = try await request.body.collect(upTo: limit) } catch let e as any HTTPResponseError where e.status == .contentTooLarge {
            throw tooLarge
        }
        return try parse(type, Data(buffer.readableBytesView), expected: expected)
    }

    /// `data` as `T`, or a 400 naming what was wrong and the form expected.
    static func parse<T: Decodable>(_ type: T.Type, _ data: Data, expected: String) throws -> T {
        guard !data.isEmpty else { throw Refusal(status: .badRequest, message: "the body is empty; send JSON: \(expected)") }
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch let e as DecodingError {
            throw Refusal(status: .badRequest, message: "\(reason(e)); send JSON: \(expected)")
        } catch {
            throw Refusal(status: .badRequest, message: "the body is not JSON; send JSON: \(expected)")
        }
    }

    /// A decoding error in a few words (Foundation's own descriptions span lines).
    static func reason(_ e: DecodingError) -> String {
        func path(_ c: [any CodingKey]) -> String { c.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".") }
        switch e {
        case .keyNotFound(let key, _): return "'\(key.stringValue)' is missing"
        case .typeMismatch(let t, let c), .valueNotFound(let t, let c):
            return "'\(path(c.codingPath))' must be \(article(t))"
        case .dataCorrupted(let c) where !c.codingPath.isEmpty: return "'\(path(c.codingPath))' is not valid"
        default: return "the body is not JSON"
        }
    }

    static func article(_ t: Any.Type) -> String {
        switch t {
        case is Bool.Type: return "true or false"
        case is String.Type: return "a string"
        case is Int.Type, is Double.Type, is UInt32.Type: return "a number"
        case is [String].Type: return "a list of strings"
        default: return "an object"
        }
    }
}
