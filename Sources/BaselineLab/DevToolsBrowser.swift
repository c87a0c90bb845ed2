import Foundation
import Glibc

/// The browser-level DevTools connection of a shared Chromium: a WebSocket to its
/// `webSocketDebuggerUrl`, used for the two things chromedriver cannot do from a session —
/// create a browser context with a proxy of its own (`Target.createBrowserContext`) and open a
/// tab in it (`Target.createTarget`). Each person then drives their tab through a chromedriver
/// session attached to the same browser (`debuggerAddress`), so one Chromium carries several
/// people, each with their own cookies and their own source address.
final class DevToolsBrowser: @unchecked Sendable {
    let fd: Int32
    let lock = NSLock()
    var nextID = 0

    /// Connects to the browser listening on `port` (loopback of `namespace`).
    init(port: Int, namespace: String) throws(BaselineError) {
        let endpoint = HTTPEndpoint(host: "127.0.0.1", port: port, namespace: namespace)
        let version = try HTTPClient.json(endpoint, method: "GET", path: "/json/version", timeout: 10)
        // ws://127.0.0.1:PORT/devtools/browser/<id>
        guard let ws = (version.value as? [String: Any])?["webSocketDebuggerUrl"] as? String,
              let start = ws.range(of: "/devtools/") else {
            throw .webDriver("chromium: no DevTools WebSocket address")
        }
        let path = String(ws[start.lowerBound...])
        fd = try HTTPClient.connect(endpoint, timeout: 60)
        var key = [UInt8](repeating: 0, count: 16)
        for i in key.indices { key[i] = UInt8.random(in: 0...255) }
        let handshake = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: \(Data(key).base64EncodedString())\r\nSec-WebSocket-Version: 13\r\n\r\n"
        try write(Data(handshake.utf8))
        var head = Data()
        while head.range(of: Data("\r\n\r\n".utf8)) == nil {
            head.append(try read(1))
            if head.count > 4096 { throw .webDriver("chromium: bad DevTools handshake") }
        }
        guard String(decoding: head, as: UTF8.self).hasPrefix("HTTP/1.1 101") else { throw .webDriver("chromium: DevTools refused the WebSocket") }
    }

    deinit { close(fd) }

    func write(_ d: Data) throws(BaselineError) {
        let ok = d.withUnsafeBytes { p -> Bool in
            var sent = 0
            while sent < p.count {
                let n = send(fd, p.baseAddress! + sent, p.count - sent, Int32(MSG_NOSIGNAL))
                if n <= 0 { return false }
                sent += n
            }
            return true
        }
        if !ok { throw .webDriver("chromium: DevTools connection closed") }
    }

    func read(_ n: Int) throws(BaselineError) -> Data {
        var out = Data(capacity: n)
        var buffer = [UInt8](repeating: 0, count: min(n, 65536))
        while out.count < n {
            let got = recv(fd, &buffer, min(buffer.count, n - out.count), 0)
            if got <= 0 { throw .webDriver("chromium: DevTools connection closed") }
            out.append(buffer, count: got)
        }
        return out
    }

    /// One masked text frame, as a client must send.
    func sendText(_ text: String) throws(BaselineError) {
        let payload = Array(text.utf8)
        var frame = Data([0x81])
        if payload.count < 126 { frame.append(0x80 | UInt8(payload.count)) } else if payload.count < 65536 {
            frame.append(0x80 | 126); frame.append(UInt8(payload.count >> 8)); frame.append(UInt8(payload.count & 0xFF))
        } else {
            frame.append(0x80 | 127)
            for s in stride(from: 56, through: 0, by: -8) { frame.append(UInt8((payload.count >> s) & 0xFF)) }
        }
        let mask = (0..<4).map { _ in UInt8.random(in: 0...255) }
        frame.append(contentsOf: mask)
        frame.append(contentsOf: payload.enumerated().map { $0.element ^ mask[$0.offset % 4] })
        try write(frame)
    }

    /// The next whole message (continuation frames joined; control frames skipped).
    func receive() throws(BaselineError) -> Data {
        var message = Data()
        while true {
            let h = try read(2)
            var n = Int(h[1] & 0x7F)
            if n == 126 { let e = try read(2); n = Int(e[0]) << 8 | Int(e[1]) }
            else if n == 127 { n = try read(8).reduce(0) { $0 << 8 | Int($1) } }
            let body = try read(n)
            let opcode = h[0] & 0x0F
            if opcode >= 0x8 { continue }
            message.append(body)
            if h[0] & 0x80 != 0 { return message }
        }
    }

    /// Sends a command and waits for its answer (events in between are dropped).
    func call(_ method: String, _ params: [String: Any]) throws(BaselineError) -> [String: Any] {
        lock.lock()
        defer { lock.unlock() }
        nextID += 1
        let id = nextID
        guard let json = try? JSONSerialization.data(withJSONObject: ["id": id, "method": method, "params": params] as [String: Any]) else {
            throw .webDriver("chromium: cannot encode \(method)")
        }
        try sendText(String(decoding: json, as: UTF8.self))
        while true {
            guard let o = try? JSONSerialization.jsonObject(with: try receive()) as? [String: Any], o["id"] as? Int == id else { continue }
            if let e = o["error"] as? [String: Any] { throw .webDriver("chromium: \(method): \(e["message"] as? String ?? "error")") }
            return o["result"] as? [String: Any] ?? [:]
        }
    }

    /// A browser context leaving through `proxy`, with one blank tab; the tab's target id (the
    /// window handle chromedriver knows it by).
    func openTab(proxy: String) throws(BaselineError) -> String {
        let context = try call("Target.createBrowserContext", ["proxyServer": proxy, "disposeOnDetach": false])
        guard let contextID = context["browserContextId"] as? String else { throw .webDriver("chromium: no browser context") }
        let target = try call("Target.createTarget", ["url": "about:blank", "browserContextId": contextID])
        guard let targetID = target["targetId"] as? String else { throw .webDriver("chromium: no tab") }
        return targetID
    }
}
