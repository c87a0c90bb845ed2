import Config
import Packets
import Testing

/// Issue 11 §2: every `holon run` flag has a key, unknown keys are errors, and every error says
/// file:line:column of the value at fault.
@Suite struct ConfigLoaderTests {
    let full = """
    # a server's configuration
    interfaces:
      - name: eth0
      - name: eth1
        netns: edge
        generic: true
    protected: [198.51.100.0/24, 2001:db8::/48]
    allowlist:
      - 192.0.2.53
      - 10.0.0.0/8
    static_rules: /etc/holon/static.rules
    observe: true
    run:
      sample_every: 50
      warmup: 20s
      hold: 30s
      max_rules: 16
      dry_run: false
      duration: 2m
    http:
      listen: 0.0.0.0:9477
      token_env: HOLON_TOKEN
    log: json
    baseline:
      directory: /var/lib/holon
      max_age: 12h
    """

    @Test func everyKeyIsRead() throws {
        let c = try ConfigLoader.parse(full, file: "holon.yaml", environment: ["HOLON_TOKEN": "0123456789abcdef0123"])
        #expect(c.interfaces == [.init(name: "eth0"), .init(name: "eth1", netns: "edge", generic: true)])
        #expect(c.protected == [IPPrefix("198.51.100.0/24")!, IPPrefix("2001:db8::/48")!])
        #expect(c.allowlist == [IPPrefix("192.0.2.53/32")!, IPPrefix("10.0.0.0/8")!])
        #expect(c.staticRules == "/etc/holon/static.rules")
        #expect(c.observe)
        #expect(c.sampleEvery == 50 && c.maxRules == 16 && !c.dryRun)
        #expect(c.warmup == .seconds(20) && c.hold == .seconds(30) && c.duration == .seconds(120))
        #expect(c.httpListen == "0.0.0.0:9477" && c.httpToken == "0123456789abcdef0123")
        #expect(c.log == .json)
        #expect(c.baselineMaxAge == .seconds(12 * 3600))
    }

    @Test func anEmptyFileIsTheDefaults() throws {
        let c = try ConfigLoader.parse("", file: "empty.yaml")
        var d = HolonConfig()
        d.source = "empty.yaml"
        #expect(c == d)
    }

    /// (text, line, column, words the message must hold)
    static let bad: [(String, Int, Int, String)] = [
        ("observe: true\nwarmup: 10s\n", 2, 1, "unknown key 'warmup'"),
        ("run:\n  sample_evry: 5\n", 2, 3, "unknown key 'sample_evry'"),
        ("run:\n  sample_every: 0\n", 2, 17, "1…1000000"),
        ("run:\n  warmup: soon\n", 2, 11, "cannot read duration"),
        ("protected: [10.0.0.0/33]\n", 1, 13, "not an address or prefix"),
        ("allowlist:\n  - 192.0.2.1\n  - 300.1.1.1\n", 3, 5, "'300.1.1.1'"),
        ("interfaces:\n  - name: eth0\n  - name: eth0\n", 3, 5, "listed twice"),
        ("interfaces:\n  - name: a/b\n", 2, 5, "1–15 characters"),
        ("http:\n  listen: 9477\n", 2, 11, "HOST:PORT"),
        ("http:\n  token: short\n", 2, 10, "too short"),
        ("http:\n  token_env: NOPE_NOT_SET\n", 2, 14, "NOPE_NOT_SET is not set"),
        ("log: xml\n", 1, 6, "text or json"),
        ("observe: maybe\n", 1, 10, "true or false"),
        ("run: [1, 2]\n", 1, 6, "mapping"),
        ("run:\n  hold: 10s\n   warmup: 5s\n", 3, 10, "YAML"),
        ("observe: true\nobserve: false\n", 0, 0, "duplicate"),
    ]

    @Test(arguments: 0..<bad.count)
    func errorsSayWhereAndWhat(_ i: Int) {
        let (text, line, column, words) = Self.bad[i]
        do {
            _ = try ConfigLoader.parse(text, file: "h.yaml", environment: [:])
            Issue.record("accepted: \(text)")
        } catch {
            #expect(error.message.contains(words), "\(error)")
            if line > 0 {
                #expect(error.line == line && error.column == column, "\(error)")
                #expect(error.description.hasPrefix("h.yaml:\(line):\(column): "))
            } else {
                #expect(error.line > 0, "a duplicate key is still located: \(error)")
            }
            #expect(!error.description.contains("\n"), "one line")
        }
    }

    @Test func aMissingFileSaysSo() {
        #expect(throws: ConfigError.self) { try ConfigLoader.load(path: "/nonexistent/holon.yaml") }
        do { _ = try ConfigLoader.load(path: "/nonexistent/holon.yaml") } catch {
            #expect(error.description == "/nonexistent/holon.yaml: the configuration file does not exist")
        }
    }

    @Test func prefixesContain() {
        let p = IPPrefix("198.51.100.0/24")!
        #expect(p.contains(IPAddress("198.51.100.7")!))
        #expect(!p.contains(IPAddress("198.51.101.7")!))
        #expect(!p.contains(IPAddress("2001:db8::1")!))
        let q = IPPrefix("2001:db8:0:1::/64")!
        #expect(q.contains(IPAddress("2001:db8:0:1::99")!))
        #expect(!q.contains(IPAddress("2001:db8:0:2::1")!))
        #expect(IPPrefix("0.0.0.0/0")!.contains(IPAddress("8.8.8.8")!))
        #expect(IPPrefix("10.0.0.0/8/1") == nil && IPPrefix("") == nil)
    }
}
