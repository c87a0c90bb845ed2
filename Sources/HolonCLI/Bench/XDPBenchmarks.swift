import ArgumentParser
import Dataplane
import Foundation
import Packets
import Rules

/// `holon bench xdp`: the XDP classifier in the kernel, through BPF_PROG_RUN on a private
/// (unpinned, unattached) copy of the program. Root only.
struct BenchXDP: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "xdp",
        abstract: "Time the XDP filter: drop rate with 100k rules against a drop-all and a parse-only program, rule installs and one-rule changes, per-packet cost at 10 and 1M rules."
    )

    @Flag(help: "Print one JSON object per line: {\"name\", \"value\", \"unit\"}.") var json = false
    @Option(help: "Samples per measurement (the median is reported).") var samples = 5
    @Option(help: "Live frames per thread per drop-rate sample.") var frames: UInt32 = 4_000_000

    /// Rules of one shape: UDP from one /32 (`sources`) to port 9; the bench frame matches rule 0.
    static func rules(_ n: Int) -> [Rule] {
        sources(n).enumerated().map { i, source in
            Rule(id: UInt32(i), match: [.equals(.proto, 17), .prefix(.srcIP, .v4(source), length: 32), .equals(.dstPort, 9)],
                 action: .drop, priority: 10)
        }
    }

    /// The sources `rules(n)` drop: 11.0.0.0 and up, the bench frame's first.
    static func sources(_ n: Int) -> [UInt32] { (0..<n).map { 0x0B00_0000 &+ UInt32($0) } }

    static let frame = PacketBuilder.bytes(.udp4(source: 0x0B00_0000, destination: 0x0A4D_0002, sourcePort: 1234,
                                                 destinationPort: 9, frameLength: 64))

    /// The IPv6 counterpart of `frame` (no extension headers) and the rule that drops it: the
    /// filter parses IPv4 and this IPv6 in the program, the rest (VLAN tags, extension headers)
    /// in a function of its own.
    static let source6 = IPAddress.v6(high: 0x2001_0DB8_0B00_0000, low: 1)
    static let frame6 = PacketBuilder.bytes(PacketSpec(network: .v6(PacketSpec.IPv6(source: source6, destination: .v6(high: 0x2001_0DB8_0A4D_0000, low: 2))),
                                                       transport: .udp(source: 1234, destination: 9), payloadLength: 18))
    static let rule6 = Rule(id: 2_000_000, match: [.equals(.proto, 17), .prefix(.srcIP, source6, length: 128), .equals(.dstPort, 9)],
                            action: .drop, priority: 10)

    /// A rule of four fields as the detector writes one against a SYN flood (proto, flags, the
    /// victim, the flood's TTL, priority 100; `holon demo`'s syn-flood rule), and a frame of the
    /// flood: four key values, narrowed to three in a bucket and one check.
    static let ruleSYN = Rule(id: 2_000_001, match: [.equals(.proto, 6), .equals(.tcpFlags, 2), .prefix(.dstIP, .v4(0x0A4D_0002), length: 32),
                                                     .equals(.ttl, 243)], action: .drop, priority: 100)
    static let frameSYN: [UInt8] = {
        var ip = PacketSpec.IPv4(source: 0x2D53_0102, destination: 0x0A4D_0002)
        ip.ttl = 243
        return PacketBuilder.bytes(PacketSpec(network: .v4(ip), transport: .tcp(source: 40000, destination: 80, flags: [.syn]), payloadLength: 0,
                                              minimumFrameLength: 60))
    }()

    /// Rules of four shapes as the detector writes them against a multi-vector attack on one
    /// victim (priority 100): `ruleSYN`, an ICMP flood (type 8, larger frames), an NTP
    /// reflection and a DNS reflection onto the victim's IPv6 address. With the 10 rules, a
    /// table of 5 shapes, which a legitimate frame (`frameUser`) walks whole and passes.
    static let multiVector: [Rule] = [
        ruleSYN,
        Rule(id: 2_000_002, match: [.equals(.proto, 1), .equals(.icmpType, 8), .prefix(.dstIP, .v4(0x0A4D_0002), length: 32),
                                    .equals(.sizeClass, 3)], action: .drop, priority: 100),
        Rule(id: 2_000_003, match: [.equals(.proto, 17), .equals(.srcPort, 123), .prefix(.dstIP, .v4(0x0A4D_0002), length: 32)],
             action: .drop, priority: 100),
        Rule(id: 2_000_004, match: [.equals(.proto, 17), .equals(.srcPort, 53), .prefix(.dstIP, .v6(high: 0x2001_0DB8_0A4D_0000, low: 2), length: 128)],
             action: .drop, priority: 100),
    ]
    /// A real user's packet to the victim during that attack: a TCP ACK to port 443.
    static let frameUser = PacketBuilder.bytes(PacketSpec(network: .v4(PacketSpec.IPv4(source: 0xC633_6407, destination: 0x0A4D_0002)),
                                                          transport: .tcp(source: 50123, destination: 443, flags: [.ack]), payloadLength: 0,
                                                          minimumFrameLength: 60))

    /// A blocklist of 1,000 source prefixes with the lengths of a public DROP list (/11 to /24,
    /// most of them /19 to /24), spread over 20.0.0.0 to 189.255.255.255 (neither the bench's
    /// nor the user's frame is in it), priority 50. Keyed at /8, /16 and /24, 3 shapes.
    static let blocklist: [Rule] = {
        let lengths: [(UInt8, Int)] = [(11, 2), (12, 3), (13, 5), (14, 8), (15, 12), (16, 40), (17, 30), (18, 50), (19, 80),
                                       (20, 90), (21, 100), (22, 170), (23, 120), (24, 290)]
        var rules: [Rule] = []
        for (length, count) in lengths {
            for _ in 0..<count {
                let k = UInt32(rules.count)
                let spread = k &* 2_654_435_761
                let address = (20 + (spread >> 24) % 170) << 24 | (spread & 0x00FF_FFFF)
                rules.append(Rule(id: 3_000_000 + k, match: [.prefix(.srcIP, .v4(address & UInt32.max << UInt32(32 - length)), length: length)],
                                  action: .drop, priority: 50))
            }
        }
        return rules
    }()
    /// A frame from inside the blocklist's first /21 (keyed at /16: its own length is a check).
    static let frameListed: [UInt8] = {
        for rule in blocklist {
            if case .prefix(_, .v4(let a), 21) = rule.predicates[0] {
                return PacketBuilder.bytes(.udp4(source: a | 0x0123, destination: 0x0A4D_0002, sourcePort: 1234, destinationPort: 9, frameLength: 64))
            }
        }
        return []
    }()

    /// The 12-byte marker of payload rule `i`: distinct in its first 8 bytes, the window the
    /// classifier keys on (markers that share them share a chain, at most 32 long).
    /// One rule added to and deleted from `dp`'s table, each `samples` times, by id and as a whole
    /// new table (`listed`): the caller's wall times, and the catch-up after each, in ms.
    func changeOne(_ dp: Dataplane) throws -> (add: [Double], del: [Double], listed: [Double], catchUp: [Double]) {
        var add: [Double] = [], del: [Double] = [], listed: [Double] = [], catchUp: [Double] = []
        for i in 0..<samples {
            let extra = Rule(id: UInt32(200_000 + i), match: [.equals(.proto, 17), .prefix(.srcIP, .v4(0x0C00_0000 &+ UInt32(i)), length: 32),
                                                         .equals(.dstPort, 9)], action: .drop, priority: 10)
            for step in 0..<4 {
                let t0 = DispatchTime.now().uptimeNanoseconds
                switch step {
                case 0: _ = try dataplaneStep { () throws(DataplaneError) in try dp.add([extra]) }
                case 1: _ = try dataplaneStep { () throws(DataplaneError) in try dp.delete(ids: [extra.id]) }
                case 2: _ = try dataplaneStep { () throws(DataplaneError) in try dp.update { $0 + [extra] } }
                default: _ = try dataplaneStep { () throws(DataplaneError) in try dp.update { $0.filter { $0.id != extra.id } } }
                }
                let t1 = DispatchTime.now().uptimeNanoseconds
                try dataplaneStep { () throws(DataplaneError) in try dp.settle() }
                let t2 = DispatchTime.now().uptimeNanoseconds
                let ms = Double(t1 - t0) / 1e6
                if step == 0 { add.append(ms) } else if step == 1 { del.append(ms) } else { listed.append(ms) }
                catchUp.append(Double(t2 - t1) / 1e6)
            }
        }
        return (add, del, listed, catchUp)
    }

    /// Packets a second the filter dropped while every CPU sent it `frames` live copies of `frame` at once.
    static func dropRate(_ dp: Dataplane, _ frame: [UInt8], frames: UInt32, cpus: Int) throws -> Double {
        let before = try dataplaneStep { () throws(DataplaneError) in try dp.stats() }
        let ns = Ceilings.onEveryCPU(cpus) { _ = try? dp.liveFrames(frame, count: frames) }
        let after = try dataplaneStep { () throws(DataplaneError) in try dp.stats() }
        return Double(after.dropped - before.dropped) / ns * 1e9
    }

    static func marker(_ i: Int) -> [UInt8] {
        withUnsafeBytes(of: UInt64(i).bigEndian, Array.init).reversed() + [0x13, 0x37, 0xC0, 0xDE]
    }

    func validate() throws {
        // A median of nothing is NaN, and the checks after it then blamed the filter.
        guard samples >= 1 else { throw ValidationError("--samples must be at least 1") }
        guard frames >= 1 else { throw ValidationError("--frames must be at least 1") }
    }

    func report(_ name: String, _ value: Double, _ unit: String) {
        if json {
            print("{\"name\": \"\(name)\", \"value\": \(String(format: "%.3f", value)), \"unit\": \"\(unit)\"}")
        } else {
            print(pad(name, 36) + lpad(String(format: value < 10 ? "%.3f" : "%.1f", value), 16) + " " + unit)
        }
    }

    func run() throws {
        guard geteuid() == 0 else { throw ValidationError("bench xdp needs root (BPF)") }
        let dp = try dataplaneStep { () throws(DataplaneError) in try Dataplane.transient() }

        // Install time: whole-table replacement (fresh maps), compile included. The other
        // generation's catch-up runs after each, untimed (it is not on the caller's path).
        let r100k = Self.rules(100_000)
        var ms: [Double] = []
        for _ in 0..<samples {
            let r = try dataplaneStep { () throws(DataplaneError) in try dp.install(r100k, rebuild: true) }
            ms.append(Double(r.nanoseconds) / 1e6)
            try dataplaneStep { () throws(DataplaneError) in try dp.settle() }
        }
        report("rules.install.100k_ms", median(ms), "ms")

        // One rule added to / deleted from the 100k-rule table, as a sidecar does per incident:
        // the caller's wall time (diff, map writes, flip). Then, separately, the catch-up of the
        // generation left behind (an RCU grace period, then the same few writes), which runs in
        // the background and delays only a change that comes sooner.
        // `listed`: the same change handed over as the whole new table (`update { $0 + [rule] }`,
        // what callers that rewrite the table do): the table is compared in one pass.
        let change = try changeOne(dp)
        report("rules.change_one_ms", median(change.add), "ms")
        report("rules.delete_one_ms", median(change.del), "ms")
        report("rules.change_one_listed_ms", median(change.listed), "ms")
        report("rules.catch_up_ms", median(change.catchUp), "ms")

        // The same on a filter attached in a private lab, with its state file (what every real
        // filter has, and the maps-only handle above does not): the change's text written before
        // its flip, as `holon run` pays for it per incident.
        let lab = try BenchLab(bench: "xdp", prefix: "holon-bx", tag: "bx\(getpid() % 100_000)")
        defer { lab.close() }
        let pinned = try dataplaneStep { () throws(DataplaneError) in
            let p = try Dataplane.open(lab.target)
            try p.replace(with: r100k)
            try p.prime()
            return p
        }
        let withState = try changeOne(pinned)
        report("rules.change_one_ms.state", median(withState.add), "ms")
        report("rules.delete_one_ms.state", median(withState.del), "ms")

        // Drop rate with 100k rules installed: live frames on every CPU at once. Each round
        // also runs the same frames through the ceiling programs (below), one right after the
        // other: on a shared machine the rate drifts by tens of percent within a minute, and a
        // ratio of rates taken at different times measured that drift as much as the filter.
        let cpus = ProcessInfo.processInfo.activeProcessorCount
        let ceilings = try Ceilings(frame: Self.frame)
        var rates: [Double] = []
        var rounds: [Ceilings.Round] = []
        for _ in 0..<samples {
            rates.append(try Self.dropRate(dp, Self.frame, frames: frames, cpus: cpus))
            rounds.append(ceilings.round(frames: frames, cpus: cpus, filter: rates.last!))
        }
        report("xdp.drop_pps", median(rates), "pps")
        try reportSpread(dp, rules: 100_000, name: "100k")

        // The same with 1,000 byte-predicate rules above the 100k (12-byte markers at payload
        // offset 0, one per rule, as the detector writes them), the frame carrying the first
        // marker: what reading the payload costs the classifier.
        let payloadRules = (0..<1_000).map { i -> Rule in
            Rule(id: UInt32(300_000 + i), match: [.equals(.proto, 17), .equals(.dstIP, 0x0A4D_0002), .bytes(PayloadMatch(offset: 0, value: Self.marker(i)))],
                 action: .drop, priority: 20)
        }
        _ = try dataplaneStep { () throws(DataplaneError) in try dp.install(r100k + payloadRules, rebuild: true) }
        try dataplaneStep { () throws(DataplaneError) in try dp.settle() }
        let markedFrame = PacketBuilder.bytes(.udp4(source: 0x0B00_0000, destination: 0x0A4D_0002, sourcePort: 1234, destinationPort: 9,
                                                    frameLength: 64), payload: Self.marker(0) + [UInt8](repeating: 0, count: 10))
        var payloadRates: [Double] = []
        for _ in 0..<samples {
            payloadRates.append(try Self.dropRate(dp, markedFrame, frames: frames, cpus: cpus))
        }
        guard dp.counters(forRule: 300_000).drops > 0 else { throw ValidationError("the marked frame was not dropped by its byte rule") }
        report("xdp.drop_pps.payload_rule", median(payloadRates), "pps")
        report("xdp.payload_ratio", median(payloadRates) / median(rates), "× drop_pps")

        // The ceilings, from the rounds above: each ratio is the median of the rounds' own.
        func perRound(_ f: (Ceilings.Round) -> Double) -> Double { median(rounds.map(f)) }
        report("xdp.drop_all_pps", perRound(\.dropAll), "pps")
        report("xdp.drop_ratio", perRound { $0.filter / $0.dropAll }, "× drop-all")
        // What merely reading the frame costs (the drop-all program never touches its bytes):
        // the part of every filter's price, the one-lookup program's too, that is no classifier's.
        report("xdp.read_drop_ratio", perRound { $0.readDrop / $0.dropAll }, "× drop-all")
        // What the ratio can reach at most with a kernel hash map: a program doing one lookup
        // and nothing else (no validation, counters or rule semantics).
        report("xdp.one_lookup_pps", perRound(\.oneLookup), "pps")
        report("xdp.one_lookup_ratio", perRound { $0.oneLookup / $0.dropAll }, "× drop-all")
        // The same comparison as a cost: what parsing and classifying add to each packet on one
        // CPU, beyond what receiving and dropping it costs (the ratio depends on how cheap the
        // drop-all path of this machine is; this does not), and its parts.
        let ns = { (pps: Double) in Double(cpus) * 1e9 / pps }
        report("xdp.parse_only_pps", perRound(\.parseOnly), "pps")
        report("xdp.parse_ratio", perRound { $0.parseOnly / $0.dropAll }, "× drop-all")
        report("xdp.classifier_ns", perRound { ns($0.filter) - ns($0.dropAll) }, "ns per packet")
        report("xdp.classifier_ns.read", perRound { ns($0.readDrop) - ns($0.dropAll) }, "ns per packet")
        report("xdp.classifier_ns.parse", perRound { ns($0.parseOnly) - ns($0.dropAll) }, "ns per packet")
        report("xdp.classifier_ns.classify", perRound { ns($0.filter) - ns($0.parseOnly) }, "ns per packet")

        // Per-packet cost (kernel-timed BPF_PROG_RUN repeat) at 10 and 1,000,000 rules.
        for (n, name) in [(10, "10"), (1_000_000, "1m")] {
            let r = try dataplaneStep { () throws(DataplaneError) in try dp.install(Self.rules(n) + [Self.rule6], rebuild: true) }
            try dataplaneStep { () throws(DataplaneError) in try dp.settle() }
            if n == 1_000_000 { report("rules.install.1m_ms", Double(r.nanoseconds) / 1e6, "ms") }
            report("xdp.packet_ns.\(name)_rules", try dropCost(dp, Self.frame, "bench frame"), "ns")
            if n == 10 {
                report("xdp.packet_ns.10_rules.ipv6", try dropCost(dp, Self.frame6, "IPv6 bench frame"), "ns")
                // In a table of its own with the 10: a shape more in the one above would cost the
                // other rows' frames a lookup (and change them); at the detector's priority it is
                // the first shape, as an incident's rule is in a live table.
                _ = try dataplaneStep { () throws(DataplaneError) in try dp.install(Self.rules(n) + [Self.ruleSYN], rebuild: true) }
                try dataplaneStep { () throws(DataplaneError) in try dp.settle() }
                report("xdp.packet_ns.10_rules.syn", try dropCost(dp, Self.frameSYN, "SYN bench frame"), "ns")
                // What the filter costs a legitimate packet while it fights a multi-vector
                // attack: every shape walked, none matching.
                let mv = try dataplaneStep { () throws(DataplaneError) in try dp.install(Self.rules(n) + Self.multiVector, rebuild: true) }
                try dataplaneStep { () throws(DataplaneError) in try dp.settle() }
                guard mv.shapes == 5 else { throw ValidationError("the multi-vector table has \(mv.shapes) shapes, not 5") }
                report("xdp.packet_ns.5_shapes.pass", try cost(dp, Self.frameUser, "user's frame", expect: .pass), "ns")
                // The same user while an operator's blocklist of 14 prefix lengths is loaded
                // (before prefixes were keyed at whole bytes: 14 shapes, ~220 ns), and a
                // listed source's frame.
                let bl = try dataplaneStep { () throws(DataplaneError) in try dp.install(Self.rules(n) + Self.blocklist, rebuild: true) }
                try dataplaneStep { () throws(DataplaneError) in try dp.settle() }
                report("rules.blocklist_shapes", Double(bl.shapes), "shapes")
                report("xdp.packet_ns.blocklist.pass", try cost(dp, Self.frameUser, "user's frame", expect: .pass), "ns")
                report("xdp.packet_ns.blocklist.drop", try dropCost(dp, Self.frameListed, "listed source's frame"), "ns")
                // With three prefixes allowlisted (none the user's): the allowlist's trie is
                // looked up only for a packet a rule matched (first, it cost the user ~13 ns).
                try dataplaneStep { () throws(DataplaneError) in try dp.allow(["192.0.2.0/24", "203.0.113.0/24", "100.64.0.0/10"].map { AllowPrefix($0)! }) }
                report("xdp.packet_ns.blocklist.pass.allowlist", try cost(dp, Self.frameUser, "user's frame", expect: .pass), "ns")
                dp.clearAllowlist()
            }
            if n == 1_000_000 { try reportSpread(dp, rules: n, name: name) }
        }
    }

    /// Median ns the filter takes to drop `frame` (BPF_PROG_RUN, 1,000,000 repeats a sample).
    func dropCost(_ dp: Dataplane, _ frame: [UInt8], _ what: String) throws -> Double {
        try cost(dp, frame, what, expect: .drop)
    }

    /// Median ns the filter takes to give `frame` its `expect`ed verdict (BPF_PROG_RUN,
    /// 1,000,000 repeats a sample).
    func cost(_ dp: Dataplane, _ frame: [UInt8], _ what: String, expect: XDPAction) throws -> Double {
        var ns: [Double] = []
        for _ in 0..<samples {
            let (action, t) = try dataplaneStep { () throws(DataplaneError) in try dp.testRun(frame, repeat: 1_000_000) }
            guard action == expect else { throw ValidationError("the \(what) met \(action), not \(expect)") }
            ns.append(Double(t))
        }
        return median(ns)
    }

    /// The bench frame's key is placed first, in its bucket's first way. Other keys may have
    /// spilled from a full bucket (more of them the larger the table), and a frame no rule
    /// matches costs what its bucket makes it cost: per-packet cost (BPF_PROG_RUN) over 33
    /// sources spread across the installed `rules`, matched and not, each sample's median.
    func reportSpread(_ dp: Dataplane, rules n: Int, name: String) throws {
        func cost(matched: Bool) throws -> Double {
            var samplesNs: [Double] = []
            for _ in 0..<samples {
                var ns: [Double] = []
                for j in 0..<33 {
                    let source = matched ? 0x0B00_0000 &+ UInt32(j * n / 33) : 0x0D00_0000 &+ UInt32(j * 7919)
                    let frame = PacketBuilder.bytes(.udp4(source: source, destination: 0x0A4D_0002, sourcePort: 1234,
                                                          destinationPort: 9, frameLength: 64))
                    let (action, t) = try dataplaneStep { () throws(DataplaneError) in try dp.testRun(frame, repeat: 100_000) }
                    guard action == (matched ? .drop : .pass) else {
                        throw ValidationError("a frame from \(IPAddress.v4(source)) met \(action) with \(name) rules, not \(matched ? "drop" : "pass")")
                    }
                    ns.append(Double(t))
                }
                samplesNs.append(median(ns))
            }
            return median(samplesNs)
        }
        report("xdp.packet_ns.\(name)_rules.spread", try cost(matched: true), "ns")
        report("xdp.packet_ns.\(name)_rules.miss", try cost(matched: false), "ns")
    }
}
