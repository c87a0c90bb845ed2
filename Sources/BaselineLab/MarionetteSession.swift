import Dataplane
import Foundation
import Glibc

/// A WebDriver session with Firefox over Marionette, Firefox's own remote protocol: each message
/// is `<length>:<json>`, a command `[0, id, name, params]`, its answer `[1, id, error, result]`.
/// geckodriver (not packaged by Debian 12) is a translator from W3C HTTP to exactly this, so
/// the commands are the W3C ones under their Marionette names.
public final class MarionetteSession: BrowserSession, @unchecked Sendable {
    public let engine = Engine.firefox
    let fd: Int32
    let lock = NSLock()
    var nextID = 1

    public init(endpoint: HTTPEndpoint, capabilities: [String: Any], timeout: Double = 120) throws(BaselineError) {
        fd = try HTTPClient.connect(endpoint, timeout: timeout)
        _ = try readMessage()   // the server's hello
        // Marionette takes the capabilities themselves as the parameters.
        _ = try send("WebDriver:NewSession", capabilities)
        _ = try? send("WebDriver:SetTimeouts", ["pageLoad": 60_000, "script": 30_000, "implicit": 0])
    }

    deinit { close(fd) }

    func readMessage() throws(BaselineError) -> Any? {
        var lengthText = ""
        var byte: UInt8 = 0
        while true {
            let n = recv(fd, &byte, 1, 0)
            guard n == 1 else { throw .webDriver("firefox: Marionette connection closed") }
            if byte == UInt8(ascii: ":") { break }
            lengthText.append(Character(UnicodeScalar(byte)))
        }
        guard let length = Int(lengthText) else { throw .webDriver("firefox: bad Marionette frame length \(lengthText)") }
        var data = [UInt8](repeating: 0, count: length)
        var got = 0
        while got < length {
            let n = data.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + got, length - got, 0) }
            guard n > 0 else { throw .webDriver("firefox: Marionette connection closed") }
            got += n
        }
        return try? JSONSerialization.jsonObject(with: Data(data))
    }

    @discardableResult
    func send(_ name: String, _ params: [String: Any]) throws(BaselineError) -> Any? {
        lock.lock()
        defer { lock.unlock() }
        let id = nextID
        nextID += 1
        guard let json = try? JSONSerialization.data(withJSONObject: [0, id, name, params] as [Any]) else {
            throw .webDriver("firefox: cannot encode \(name)")
        }
        var frame = Data("\(json.count):".utf8)
        frame.append(json)
        let ok = frame.withUnsafeBytes { p -> Bool in
            var sent = 0
            while sent < p.count {
                let n = Glibc.send(fd, p.baseAddress! + sent, p.count - sent, Int32(MSG_NOSIGNAL))
                if n <= 0 { return false }
                sent += n
            }
            return true
        }
        guard ok else { throw .webDriver("firefox: Marionette send failed") }
        while true {
            guard let reply = try readMessage() as? [Any], reply.count == 4, reply[1] as? Int == id else { continue }
            if let e = reply[2] as? [String: Any] {
                throw .webDriver("\(e["error"] as? String ?? "error"): \((e["message"] as? String ?? "").split(separator: "\n").first ?? "")")
            }
            let result = reply[3]
            // Marionette wraps most results as {"value": …}.
            if let d = result as? [String: Any], d.count == 1, let v = d["value"] { return v }
            return result
        }
    }

    public func navigate(_ url: String) throws(BaselineError) { try send("WebDriver:Navigate", ["url": url]) }

    public func currentURL() throws(BaselineError) -> String { try send("WebDriver:GetCurrentURL", [:]) as? String ?? "" }

    public func execute(_ script: String, _ args: [Any]) throws(BaselineError) -> Any? {
        decodeElements(try send("WebDriver:ExecuteScript", ["script": script, "args": args.map(encodeElements)]))
    }

    public func find(_ css: String) throws(BaselineError) -> [ElementRef] {
        let v = try send("WebDriver:FindElements", ["using": "css selector", "value": css]) as? [Any] ?? []
        return v.compactMap { decodeElements($0) as? ElementRef }
    }

    public func click(_ e: ElementRef) throws(BaselineError) { try send("WebDriver:ElementClick", ["id": e.id]) }

    public func type(_ e: ElementRef, _ text: String) throws(BaselineError) {
        try send("WebDriver:ElementSendKeys", ["id": e.id, "text": text])
    }

    public func quit() { _ = try? send("WebDriver:DeleteSession", [:]) }
}
