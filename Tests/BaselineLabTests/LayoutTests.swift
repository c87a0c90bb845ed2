@testable import BaselineLab
import Testing

@Suite struct LayoutTests {
    /// Mixed attacks are timed from the sender's first packet, read from its report among the
    /// progress lines it writes to the same output.
    @Test func attacksAreTimedFromTheSendersReport() {
        let out = "sending 20000 pps…\r\n{\"plan\":\"x\",\"startedAtNs\":1764900000250000000,\"sent\":5}\n"
        #expect(abs((AttackMix.firstPacketTime(out) ?? 0) - 1_764_900_000.25) < 1e-6)
        #expect(AttackMix.firstPacketTime("interrupted\n") == nil)
        #expect(AttackMix.firstPacketTime("{\"startedAtNs\":0}") == nil)
    }

    @Test func personAddressesAreDistinctAndInTheLabSubnet() {
        let l = BaselineLayout.standard
        let all = (0..<l.people).map(l.personAddress)
        #expect(Set(all).count == 23)
        #expect(all.first == "10.77.0.101" && all.last == "10.77.0.123")
        #expect(!all.contains(l.siteAddress) && !all.contains(l.generatorAddress))
    }

    @Test func squidGivesEachPortItsOwnOutgoingAddress() {
        let l = BaselineLayout.standard
        let squid = SiteConfig(layout: l, secrets: .make()).squid
        for i in 0..<l.people {
            #expect(squid.contains("http_port 127.0.0.1:\(l.proxyPort(i)) name=p\(i)\n"))
            #expect(squid.contains("tcp_outgoing_address \(l.personAddress(i)) from_p\(i)\n"))
        }
        #expect(squid.contains("cache deny all") && squid.contains("via off"))
    }

    @Test func siteConfigsStayUnderThePrivateRoot() {
        let l = BaselineLayout.scratch(tag: "t1")
        let c = SiteConfig(layout: l, secrets: .make())
        #expect(c.nginx.contains("pid \(l.root)/run/nginx.pid;"))
        #expect(c.nginx.contains("listen \(l.siteAddress):443 ssl;"))
        #expect(c.phpFPM.contains("listen = \(l.phpSocket)"))
        #expect(c.wordpress.contains("localhost:\(l.mysqlSocket)"))
        #expect(!c.nginx.contains("/var/log/nginx") && !c.nginx.contains(" /run/nginx.pid"))
    }
}
