@testable import Dataplane
import Foundation
import Testing

/// `holon service install` wrote a configuration protecting eth0 whatever the host: on one
/// whose traffic comes in on ens3 the service then protected nothing. It now names the
/// interface of the default route, read from the kernel's route tables.
@Suite("The default route's interface")
struct DefaultRouteTests {
    let v4Header = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"

    @Test func theIPv4DefaultRouteWithTheLowestMetric() {
        let table = v4Header
            + "ens3\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"    // 192.0.2.0/24: not a default
            + "wlan0\t00000000\t010200C0\t0003\t0\t0\t600\t00000000\t0\t0\t0\n"
            + "ens3\t00000000\t010200C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
            + "ens9\t00000000\t010200C0\t0002\t0\t0\t0\t00000000\t0\t0\t0\n"      // not up (flag 1 clear)
        #expect(Dataplane.defaultRouteInterface(ipv4Routes: table) == "ens3")
        #expect(Dataplane.defaultRouteInterface(ipv4Routes: v4Header + "ens3\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n") == nil)
        #expect(Dataplane.defaultRouteInterface(ipv4Routes: "") == nil)
    }

    @Test func theIPv6DefaultRouteAndNeverLoopback() {
        let zero = String(repeating: "0", count: 32)
        let table = """
        fe800000000000000000000000000000 40 \(zero) 00 \(zero) 00000100 00000001 00000000 00000001     eth0
        \(zero) 00 \(zero) 00 \(zero) ffffffff 00000001 00000000 00200200       lo
        \(zero) 00 \(zero) 00 fe800000000000000000000000000001 00000400 00000003 00000000 00000003     enp1s0

        """
        #expect(Dataplane.defaultRouteInterface(ipv6Routes: table) == "enp1s0")
    }

    /// This host's, whatever it is: a name the kernel knows, or none.
    @Test func thisHostsIsAnInterfaceOfIt() {
        if let name = Dataplane.defaultRouteInterface() { #expect(if_nametoindex(name) != 0, "\(name)") }
    }
}
