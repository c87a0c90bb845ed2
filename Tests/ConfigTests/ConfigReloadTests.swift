import Config
import Packets
import Testing

/// What a SIGHUP makes of the running configuration (`HolonConfig.reloaded(from:)`): the policy
/// from the file, the rest as it runs, and the keys that wait for a restart named.
@Suite("Configuration reload")
struct ConfigReloadTests {
    var running: HolonConfig {
        var c = HolonConfig()
        c.interfaces = [.init(name: "eth0")]
        c.protected = [IPPrefix("198.51.100.0/24")!]
        c.sampleEvery = 10
        var b = HolonConfig.BGP()
        b.exabgpFeed = "/run/exabgp.cmd"
        b.observe = true
        c.bgp = b
        return c
    }

    @Test func thePolicyComesFromTheFileAndTheRestStays() {
        var file = running
        file.allowlist = [IPPrefix("192.0.2.53/32")!]
        file.observe = true
        file.staticRules = "/etc/holon/static.rules"
        file.bgp?.observe = false
        file.bgp?.spareAllowlist = false
        file.sampleEvery = 100
        file.hold = .seconds(30)
        let (next, restart) = running.reloaded(from: file)
        #expect(next.allowlist == file.allowlist && next.observe && next.staticRules == file.staticRules)
        #expect(next.bgp?.observe == false && next.bgp?.spareAllowlist == false)
        #expect(next.sampleEvery == 10 && next.hold == running.hold, "thresholds stay as they run")
        #expect(restart == ["run.sample_every", "run.hold"])
    }

    /// `holon run --config F --bgp B`, B saying `observe: true`, F without a bgp section: the
    /// reload took F's (none) and the announcer announced. Without one, the running bgp stays,
    /// observing, and the reload says the section waits for a restart.
    @Test func aFileWithoutTheBGPSectionKeepsFlowspecAsItRuns() {
        var file = running
        file.bgp = nil
        let (next, restart) = running.reloaded(from: file)
        #expect(next.bgp == running.bgp)
        #expect(next.bgp?.observe == true)
        #expect(restart == ["bgp"])
        #expect(HolonConfig().reloaded(from: running).restart.contains("bgp"), "and a section that was not there at the start")
    }

    @Test func theSameFileChangesNothingAndNamesNothing() {
        let (next, restart) = running.reloaded(from: running)
        #expect(next == running && restart.isEmpty)
    }

    @Test func everyKeyThatWaitsForARestartIsNamed() {
        let changes: [(String, (inout HolonConfig) -> Void)] = [
            ("interfaces", { $0.interfaces.append(.init(name: "eth1")) }),
            ("protected", { $0.protected = [] }),
            ("run.sample_every", { $0.sampleEvery = 7 }),
            ("run.warmup", { $0.warmup = .seconds(3) }),
            ("run.hold", { $0.hold = .seconds(3) }),
            ("run.max_rules", { $0.maxRules = 3 }),
            ("run.dry_run", { $0.dryRun = true }),
            ("run.duration", { $0.duration = .seconds(60) }),
            ("http.listen", { $0.httpListen = nil }),
            ("http.token", { $0.httpToken = "t" }),
            ("http.tls", { $0.httpTLS = .init(certificate: "c.pem", key: "k.pem") }),
            ("log", { $0.log = .json }),
            ("baseline.directory", { $0.stateDirectory = "/tmp/b" }),
            ("baseline.max_age", { $0.baselineMaxAge = .seconds(60) }),
            ("bgp.gobgp_api", { $0.bgp?.gobgpPort = 50052 }),
            ("bgp.exabgp_feed", { $0.bgp?.exabgpFeed = "/run/other.cmd" }),
            ("bgp.max_announced", { $0.bgp?.maxAnnounced = 3 }),
            ("bgp.packet_bytes", { $0.bgp?.packetBytes = 64 }),
        ]
        for (key, change) in changes {
            var file = running
            change(&file)
            let (next, restart) = running.reloaded(from: file)
            #expect(restart == [key], "\(key)")
            #expect(next == running, "\(key) is not applied by a reload")
        }
    }
}
