import Foundation

/// A W3C WebDriver session over HTTP (chromedriver, WebKitWebDriver).
public final class WebDriverSession: BrowserSession, @unchecked Sendable {
    public let engine: Engine
    let endpoint: HTTPEndpoint
    public let id: String

    /// Opens a session with `capabilities` (the `alwaysMatch` object).
    public init(engine: Engine, endpoint: HTTPEndpoint, capabilities: [String: Any], timeout: Double = 90) throws(BaselineError) {
        self.engine = engine
        self.endpoint = endpoint
        let r = try HTTPClient.json(endpoint, method: "POST", path: "/session",
                                    body: ["capabilities": ["alwaysMatch": capabilities]], timeout: timeout)
        guard let value = (r.value as? [String: Any])?["value"] as? [String: Any], let id = value["sessionId"] as? String else {
            throw .webDriver("\(engine.rawValue): new session failed: \(Self.message(r.value) ?? "status \(r.status)")")
        }
        self.id = id
        _ = try? call("POST", "/timeouts", ["pageLoad": 60_000, "script": 30_000, "implicit": 0])
    }

    static func message(_ v: Any?) -> String? {
        guard let value = (v as? [String: Any])?["value"] as? [String: Any], let error = value["error"] as? String else { return nil }
        let m = (value["message"] as? String ?? "").split(separator: "\n").first.map(String.init) ?? ""
        return "\(error): \(m)"
    }

    @discardableResult
    func call(_ method: String, _ path: String, _ body: Any? = nil, timeout: Double = 120) throws(BaselineError) -> Any? {
        let r = try HTTPClient.json(endpoint, method: method, path: "/session/\(id)\(path)",
                                    body: body ?? (method == "POST" ? [String: Any]() : nil), timeout: timeout)
        if r.status >= 400 || Self.message(r.value) != nil {
            throw .webDriver(Self.message(r.value) ?? "\(method) \(path): status \(r.status)")
        }
        return (r.value as? [String: Any])?["value"]
    }

    /// Makes `handle` (a tab's target id, for Chromium) the session's current window.
    public func switchTo(window handle: String) throws(BaselineError) { try call("POST", "/window", ["handle": handle]) }

    public func navigate(_ url: String) throws(BaselineError) { try call("POST", "/url", ["url": url]) }

    public func currentURL() throws(BaselineError) -> String { try call("GET", "/url") as? String ?? "" }

    public func execute(_ script: String, _ args: [Any]) throws(BaselineError) -> Any? {
        decodeElements(try call("POST", "/execute/sync", ["script": script, "args": args.map(encodeElements)]))
    }

    public func find(_ css: String) throws(BaselineError) -> [ElementRef] {
        let v = try call("POST", "/elements", ["using": "css selector", "value": css]) as? [Any] ?? []
        return v.compactMap { decodeElements($0) as? ElementRef }
    }

    public func click(_ e: ElementRef) throws(BaselineError) { try call("POST", "/element/\(e.id)/click") }

    public func type(_ e: ElementRef, _ text: String) throws(BaselineError) {
        try call("POST", "/element/\(e.id)/value", ["text": text])
    }

    public func quit() {
        _ = try? HTTPClient.json(endpoint, method: "DELETE", path: "/session/\(id)", timeout: 30)
    }
}
