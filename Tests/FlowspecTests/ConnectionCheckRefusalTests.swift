import Flowspec
import Rules
import Testing

/// syn-auth and flow-check keep per-connection state in the host's filter: an edge router's
/// stateless Flowspec match cannot carry them, so they are refused with the reason.
@Suite struct ConnectionCheckRefusalTests {
    @Test(arguments: ["(rule (and (= proto tcp) (= tcp_flags syn) (= dst_ip 198.51.100.10) (= dst_port 443)) (syn-auth))",
                      "(rule (and (= proto tcp) (= tcp_flags ack) (= dst_ip 198.51.100.10) (= dst_port 443)) (flow-check))"])
    func refusedWithAReason(_ text: String) throws {
        let outcome = FlowspecTranslator().translate(try Rule(parsing: text), baseline: [])
        guard case .refused(let why) = outcome else {
            Issue.record("announced: \(outcome)")
            return
        }
        #expect(why.contains("syn-auth") || why.contains("flow-check"), "\(why)")
    }
}
