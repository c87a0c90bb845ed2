import Foundation
import Hummingbird

/// Who may change anything over HTTP: rules (add, delete, release, pin), mode, allowlist, lab
/// traffic. Reading is open, as before: the numbers
/// are what an operator's Prometheus and dashboard need.
///
/// - With a token, a change needs `Authorization: Bearer TOKEN`.
/// - Without one, changes are taken only when the server listens on loopback: a port on a
///   shared network would let anyone there release mitigation rules.
/// - Either way a browser's cross-origin request (an `Origin` that is not this server) is
///   refused, so a web page the operator visits cannot post to 127.0.0.1.
public struct ControlAccess: Sendable {
    public var token: String?
    public var loopback: Bool

    public init(token: String? = nil, loopback: Bool = true) {
        self.token = token.flatMap { $0.isEmpty ? nil : $0 }
        self.loopback = loopback
    }

    /// True for the addresses only this machine reaches.
    public static func isLoopback(host: String) -> Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }

    /// nil when `request` may change the filter; otherwise the refusal.
    func refusal(_ request: Request) -> RuleChange.Refusal? {
        // HTTP/1's Host header is the request's authority in HTTPTypes.
        if let origin = request.headers[.origin], let host = request.head.authority,
           Self.authority(ofOrigin: origin) != host.lowercased() {
            return .init(status: .forbidden, message: "a change from another origin (\(origin)) is refused")
        }
        if let token {
            let given = request.headers[.authorization] ?? ""
            guard Self.same(given, "Bearer " + token) else {
                return .init(status: .unauthorized, message: "this change needs the header Authorization: Bearer <token given to holon run --http-token>")
            }
            return nil
        }
        guard loopback else {
            return .init(status: .forbidden, message: "changes over a non-loopback address need a token (holon run --http-token)")
        }
        return nil
    }

    /// `http://127.0.0.1:9477` → `127.0.0.1:9477`: an origin is scheme, host and port.
    static func authority(ofOrigin origin: String) -> String {
        guard let r = origin.range(of: "://") else { return origin.lowercased() }
        return origin[r.upperBound...].lowercased()
    }

    /// Compares without stopping at the first differing byte, so timing does not tell the token.
    static func same(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var diff = UInt8(x.count == y.count ? 0 : 1)
        for i in 0..<max(x.count, y.count) { diff |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0) }
        return diff == 0
    }
}
