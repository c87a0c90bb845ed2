import Foundation
import Glibc

/// The browsers' driver processes, all in the generator's namespace (so the browsers they start
/// reach Squid on its loopback), each with the lab's root in its command line so that
/// `baseline down` finds whatever a killed run left.
///
/// How 2 cores carry 23 people: one chromedriver serves every Chromium person (a session each,
/// its own profile and proxy port); WebKitWebDriver allows one session per process, so each
/// WebKit person has one; Firefox is one process per person over Marionette. Every engine is
/// headless (WebKitGTK through an Xvfb display, having no headless mode of its own).
public final class BrowserFleet: @unchecked Sendable {
    let layout: BaselineLayout
    let ns: String
    let lock = NSLock()
    var nextPort: Int
    var started: [pid_t] = []
    var chromedriverPort: Int?
    /// Shared Chromium processes: DevTools port, browser connection, people on it.
    var chromiums: [(port: Int, browser: DevToolsBrowser, people: Int)] = []
    /// People per Chromium process: each has a browser context (own cookies, own proxy) and a
    /// renderer of its own; the browser, GPU and network processes are shared.
    static let peoplePerChromium = 8
    let startLock = NSLock()
    var displayUp = false

    public init(layout: BaselineLayout) {
        self.layout = layout
        self.ns = layout.topology.generatorNamespace
        self.nextPort = layout.driverBasePort
    }

    var profiles: String { layout.run + "/profiles" }

    func port() -> Int { lock.withLock { nextPort += 1; return nextPort } }

    /// Which engines can be driven here (their programs exist); the run falls back to the others.
    public static func available() -> [Engine: String] {
        var out: [Engine: String] = [:]
        let fm = FileManager.default
        if fm.isExecutableFile(atPath: "/usr/bin/chromedriver") && fm.isExecutableFile(atPath: "/usr/bin/chromium") { out[.chromium] = "chromium" }
        if fm.isExecutableFile(atPath: "/usr/bin/WebKitWebDriver") && fm.isExecutableFile(atPath: miniBrowser)
            && fm.isExecutableFile(atPath: "/usr/bin/Xvfb") { out[.webkit] = "webkitgtk" }
        if fm.isExecutableFile(atPath: "/usr/bin/firefox-esr") { out[.firefox] = "firefox-esr" }
        return out
    }

    static let miniBrowser = "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser"

    /// A new session for person `person` on `engine`, leaving through that person's proxy port.
    public func session(_ engine: Engine, person: Int) throws(BaselineError) -> BrowserSession {
                let profile = profiles + "/\(engine.rawValue)-\(person)"
        try? FileManager.default.removeItem(atPath: profile)
        do { try FileManager.default.createDirectory(atPath: profile, withIntermediateDirectories: true) } catch {
            throw .invalid("cannot create \(profile): \(error)")
        }
        switch engine {
        case .chromium:
            let port = try chromedriver()
            let (debugPort, browser) = try sharedChromium()
            let tab = try browser.openTab(proxy: "http://127.0.0.1:\(layout.proxyPort(person))")
            let session = try WebDriverSession(engine: .chromium, endpoint: HTTPEndpoint(host: "127.0.0.1", port: port, namespace: ns),
                                               capabilities: ["goog:chromeOptions": ["debuggerAddress": "127.0.0.1:\(debugPort)"]])
            do { try session.switchTo(window: tab) } catch { session.quit(); throw error }
            return session
        case .webkit:
            try display()
            let port = self.port()
            // WebKitGTK turns a W3C `sslProxy` into an https:// proxy (TLS to the proxy itself),
            // which Squid's plain port cannot answer; the proxy is given the way GLib reads it
            // instead, from the driver's environment (inherited by the browser), loopback
            // excepted so the driver still reaches its browser.
            let proxyURL = "http://127.0.0.1:\(layout.proxyPort(person))"
            try spawn(["env", "DISPLAY=:\(layout.display)", "http_proxy=\(proxyURL)", "https_proxy=\(proxyURL)",
                       "no_proxy=127.0.0.1,localhost", "WebKitWebDriver", "--port=\(port)"], log: "webkitwebdriver-\(person)")
            let endpoint = HTTPEndpoint(host: "127.0.0.1", port: port, namespace: ns)
            try waitForDriver(endpoint, what: "WebKitWebDriver")
            return try WebDriverSession(engine: .webkit, endpoint: endpoint, capabilities: [
                "acceptInsecureCerts": true,
                "proxy": ["proxyType": "system"],
                "webkitgtk:browserOptions": ["binary": Self.miniBrowser, "args": ["--automation"]],
            ])
        case .firefox:
            let port = self.port()
            let prefs = Self.firefoxPrefs(marionettePort: port, proxyPort: layout.proxyPort(person))
            do { try prefs.write(toFile: profile + "/user.js", atomically: true, encoding: .utf8) } catch {
                throw .invalid("cannot write the Firefox profile: \(error)")
            }
            try spawn(["firefox-esr", "--marionette", "--headless", "--no-remote", "--profile", profile, "about:blank"], log: "firefox-\(person)")
            let endpoint = HTTPEndpoint(host: "127.0.0.1", port: port, namespace: ns)
            var session: MarionetteSession?
            try Command.wait(for: "Firefox's Marionette port", seconds: 60) {
                session = try? MarionetteSession(endpoint: endpoint, capabilities: ["acceptInsecureCerts": true])
                return session != nil
            }
            return session!
        }
    }

    static func firefoxPrefs(marionettePort: Int, proxyPort: Int) -> String {
        let prefs: [(String, String)] = [
            ("marionette.port", "\(marionettePort)"),
            ("network.proxy.type", "1"), ("network.proxy.http", "\"127.0.0.1\""), ("network.proxy.http_port", "\(proxyPort)"),
            ("network.proxy.ssl", "\"127.0.0.1\""), ("network.proxy.ssl_port", "\(proxyPort)"),
            ("network.proxy.no_proxies_on", "\"\""),
            // Firefox's own calls home have nowhere to go in the lab; keep them from trying.
            ("app.update.disabledForTesting", "true"), ("browser.shell.checkDefaultBrowser", "false"),
            ("datareporting.policy.dataSubmissionEnabled", "false"), ("toolkit.telemetry.enabled", "false"),
            ("services.settings.server", "\"http://127.0.0.1:9/\""), ("network.captive-portal-service.enabled", "false"),
            ("network.connectivity-service.enabled", "false"), ("browser.safebrowsing.malware.enabled", "false"),
            ("browser.safebrowsing.phishing.enabled", "false"), ("extensions.update.enabled", "false"),
            ("browser.startup.homepage_override.mstone", "\"ignore\""), ("browser.newtabpage.enabled", "false"),
        ]
        return prefs.map { "user_pref(\"\($0.0)\", \($0.1));" }.joined(separator: "\n") + "\n"
    }

    /// A Chromium with room for one more person, started when all are full.
    func sharedChromium() throws(BaselineError) -> (Int, DevToolsBrowser) {
        // One start at a time: people arriving together would otherwise each start a browser.
        startLock.lock()
        defer { startLock.unlock() }
        let found: (Int, DevToolsBrowser)? = lock.withLock {
            guard let i = chromiums.firstIndex(where: { $0.people < Self.peoplePerChromium }) else { return nil }
            chromiums[i].people += 1
            return (chromiums[i].port, chromiums[i].browser)
        }
        if let found { return found }
        let port = self.port()
        let profile = profiles + "/chromium-shared-\(port)"
        try? FileManager.default.createDirectory(atPath: profile, withIntermediateDirectories: true)
        // Contexts cannot take acceptInsecureCerts through an attached session: the lab's
        // self-signed certificate is accepted browser-wide instead.
        try spawn(["chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                   "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-default-apps",
                   "--disable-extensions", "--mute-audio", "--window-size=1280,900", "--ignore-certificate-errors",
                   "--remote-debugging-port=\(port)", "--user-data-dir=\(profile)", "about:blank"], log: "chromium-\(port)")
        var browser: DevToolsBrowser?
        try Command.wait(for: "Chromium's DevTools port", seconds: 60) {
            browser = try? DevToolsBrowser(port: port, namespace: ns)
            return browser != nil
        }
        lock.withLock { chromiums.append((port, browser!, 1)) }
        return (port, browser!)
    }

    /// The one chromedriver, started on first use.
    func chromedriver() throws(BaselineError) -> Int {
        if let p = lock.withLock({ chromedriverPort }) { return p }
        let port = self.port()
        try spawn(["chromedriver", "--port=\(port)", "--log-path=\(layout.logs)/chromedriver.log"], log: "chromedriver")
        try waitForDriver(HTTPEndpoint(host: "127.0.0.1", port: port, namespace: ns), what: "chromedriver")
        lock.withLock { chromedriverPort = port }
        return port
    }

    func display() throws(BaselineError) {
        if lock.withLock({ displayUp }) { return }
        // An Xvfb killed earlier leaves its lock and socket; a new one would refuse the display.
        if Self.processes().first(where: { $0.name == "Xvfb" && inNamespace($0.pid) }) == nil {
            try? FileManager.default.removeItem(atPath: "/tmp/.X\(layout.display)-lock")
            try? FileManager.default.removeItem(atPath: "/tmp/.X11-unix/X\(layout.display)")
        }
        try spawn(["Xvfb", ":\(layout.display)", "-screen", "0", "1280x900x24", "-nolisten", "tcp"], log: "xvfb")
        try Command.wait(for: "Xvfb", seconds: 15) { FileManager.default.fileExists(atPath: "/tmp/.X11-unix/X\(layout.display)") }
        lock.withLock { displayUp = true }
    }

    func waitForDriver(_ e: HTTPEndpoint, what: String) throws(BaselineError) {
        try Command.wait(for: what, seconds: 30) { (try? HTTPClient.json(e, method: "GET", path: "/status", timeout: 5))?.status == 200 }
    }

    /// Starts `args` in the generator namespace in a session of its own; its output to a log under the root.
    func spawn(_ args: [String], log: String) throws(BaselineError) {
        try Command.spawn(in: ns, args, log: "\(layout.logs)/\(log).log")
    }

    /// Programs of the fleet: what `stop` ends when it finds them in the generator namespace.
    static let programs: Set<String> = ["chromedriver", "chromium", "chrome_crashpad_handler", "WebKitWebDriver", "MiniBrowser",
                                        "WebKitWebProcess", "WebKitNetworkProcess", "WebKitGPUProcess", "Xvfb", "firefox-esr"]

    /// Stops every driver and browser in this lab's generator namespace (the site's daemons
    /// live elsewhere or are not browsers: nothing else of the lab is touched).
    public func stop() {
        for round in 0..<2 {
            let victims = Self.processes().filter { Self.programs.contains($0.name) && inNamespace($0.pid) }
            for v in victims { kill(v.pid, round == 0 ? SIGTERM : SIGKILL) }
            if victims.isEmpty { break }
            let deadline = Date().addingTimeInterval(5)
            while Date() < deadline && victims.contains(where: { kill($0.pid, 0) == 0 }) { usleep(100_000) }
        }
        try? FileManager.default.removeItem(atPath: profiles)
        lock.withLock { chromedriverPort = nil; displayUp = false; chromiums = [] }
    }

    /// Every process's pid and executable's file name.
    static func processes() -> [(pid: pid_t, name: String)] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { e in
            guard let pid = pid_t(e), let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(e)/exe") else { return nil }
            return (pid, (exe.split(separator: "/").last.map(String.init) ?? exe).replacingOccurrences(of: " (deleted)", with: ""))
        }
    }

    /// Whether `pid` lives in this lab's generator namespace.
    func inNamespace(_ pid: pid_t) -> Bool {
        guard let mine = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/net") else { return false }
        var st = stat()
        guard stat("/run/netns/\(ns)", &st) == 0 else { return false }
        return mine == "net:[\(st.st_ino)]"
    }
}
