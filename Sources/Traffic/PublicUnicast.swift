/// Whether an address is ordinary public unicast space (not private, loopback, link-local,
/// CGN, documentation, multicast or reserved): pools of clients and reflectors are drawn from it.
func isPublicUnicast(_ a: UInt32) -> Bool {
    let o1 = a >> 24, o2 = (a >> 16) & 0xFF
    switch o1 {
    case 0, 10, 127: return false
    case 100 where (64...127).contains(o2): return false
    case 169 where o2 == 254: return false
    case 172 where (16...31).contains(o2): return false
    case 192 where o2 == 168: return false
    case 192 where o2 == 0: return false
    case 198 where o2 == 18 || o2 == 19: return false
    case 198 where o2 == 51 && (a >> 8) & 0xFF == 100: return false
    case 203 where o2 == 0 && (a >> 8) & 0xFF == 113: return false
    case 224...: return false
    default: return (a & 0xFF) != 0 && (a & 0xFF) != 255
    }
}
