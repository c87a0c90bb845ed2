import CGeneratorShim
import Foundation
import Lab
import Packets
import Synchronization
import Traffic

/// Where and how to send.
public struct GeneratorOptions: Sendable {
    public var interface: String
    public var namespace: String?
    /// nil: the fastest engine that works on this interface.
    public var engine: EngineKind?
    /// nil: one thread below 300 kpps, a sender per core above (and when unlimited).
    public var threads: Int?
    public var destinationMAC: MACAddress?
    /// An address on the link to resolve the destination MAC from (ping once if needed).
    public var peer: String?
    public var settings = EngineSettings()
    /// Pin sender thread i to CPU i (mod the CPU count).
    public var pinThreads = true
    /// Stops this run (a test's, a caller's own) without touching any other run in the process;
    /// the process-wide ``GeneratorStop`` stops every run.
    public var stop = GeneratorRunStop()

    public init(interface: String, namespace: String? = nil, engine: EngineKind? = nil, threads: Int? = nil,
                destinationMAC: MACAddress? = nil, peer: String? = nil) {
        self.interface = interface
        self.namespace = namespace
        self.engine = engine
        self.threads = threads
        self.destinationMAC = destinationMAC
        self.peer = peer
    }
}

/// One second of sending.
public struct SecondReport: Sendable, Codable, Hashable {
    public var second: Int
    public var phase: String
    public var sent: UInt64
    public var errors: UInt64
    /// Achieved packets per second over this interval.
    public var pps: Double
    public var totalSent: UInt64
}

public struct PhaseReport: Sendable, Codable, Hashable {
    public var name: String
    /// Seconds actually spent in the phase.
    public var seconds: Double
    /// Target packets per second (nil: unlimited).
    public var targetPPS: Double?
    public var sent: UInt64
    public var errors: UInt64
    /// Packets the pacer owed but skipped because it fell more than 20 ms behind (0 unpaced).
    public var skipped: UInt64
    public var pps: Double
}

public struct GeneratorReport: Sendable, Codable {
    public var plan: String
    public var engine: EngineKind
    public var threads: Int
    public var interface: String
    public var namespace: String?
    public var sourceMAC: String
    public var destinationMAC: String
    public var seconds: Double
    public var sent: UInt64
    public var errors: UInt64
    /// Packets the pacer owed but skipped after falling more than 20 ms behind: the planned
    /// rate was not held by this much. See ``pacingWarning``.
    public var skipped: UInt64
    public var pps: Double
    public var interrupted: Bool
    public var phases: [PhaseReport]
    public var perSecond: [SecondReport]
    /// When the first phase began, in nanoseconds since the Unix epoch; phase k began its
    /// planned offset later.
    public var startedAtNs: UInt64
    /// Frames that left the interface over the run, by its kernel counters (nil: unreadable),
    /// at most `sent`. `sent` is what the engine handed the kernel; a veth whose peer cannot
    /// keep up takes them and drops them, so only this says what arrived. See
    /// ``Delivery/measure(before:after:sent:)``.
    public var delivered: UInt64?
    /// Frames the interface counted as dropped on transmit over the run (nil: unreadable).
    public var txDropped: UInt64?

    /// A one-line warning when fewer than ``Delivery/warnBelow`` of the sent frames left the
    /// interface; nil when they did, or nothing was sent, or the counters were unreadable.
    public var deliveryWarning: String? {
        guard let delivered, sent > 0, Double(delivered) < Delivery.warnBelow * Double(sent) else { return nil }
        let share = String(format: "%.1f", 100 * Double(delivered) / Double(sent))
        return "only \(share) % of the frames sent left \(interface) (delivered \(delivered) of \(sent), "
            + "\(txDropped ?? 0) dropped on transmit): the receiving side cannot keep up; lower --pps"
    }

    /// A one-line warning when the pacer skipped more than ``Pacing/warnAbove`` of what it owed;
    /// nil when it held the rate.
    public var pacingWarning: String? {
        let owed = sent + errors + skipped
        guard skipped > 0, Double(skipped) > Pacing.warnAbove * Double(owed) else { return nil }
        let share = String(format: "%.1f", 100 * Double(skipped) / Double(owed))
        return "the pacer fell more than 20 ms behind and skipped \(skipped) of \(owed) planned packets (\(share) %): "
            + "the rate was not held; the machine is busy or the engine cannot send this fast (try --threads or --engine)"
    }
}

/// When a run's rate counts as not held.
public enum Pacing {
    /// Skipped share of the planned packets above which ``GeneratorReport/pacingWarning`` warns.
    public static let warnAbove = 0.01
}

/// What "delivered" means. On a veth, transmit is the peer's receive: `veth_xmit` forwards each
/// frame to the peer and counts it in the sender's tx_packets only when the peer took it
/// (its backlog or XDP ring had room); a refused frame counts in the sender's tx_dropped
/// (which also folds in the peer's XDP-redirect failures, and tx_packets the peer's XDP frames:
/// the xdp-live engine's path). A frame a qdisc or a down peer discards reaches neither, so
/// the shortfall, not tx_dropped, is the measure. On a NIC, tx_packets counts what the driver
/// put on the wire. Either way the sender's tx counters, read inside its namespace, say how
/// many of the engine's frames actually went out.
public enum Delivery {
    /// Below this share delivered, the summary warns.
    public static let warnBelow = 0.98

    /// Delivered and dropped frames between two readings; delivered is capped at `sent`
    /// because the counter also counts the kernel's own frames (ARP, neighbour discovery).
    public static func measure(before: InterfaceCounters?, after: InterfaceCounters?, sent: UInt64) -> (delivered: UInt64?, dropped: UInt64?) {
        guard let b = before, let a = after else { return (nil, nil) }
        return (min(sent, a.txPackets &- b.txPackets), a.txDropped &- b.txDropped)
    }
}

/// Live counters of one sender thread.
final class WorkerState: @unchecked Sendable {
    let sent = Atomic<UInt64>(0)
    let errors = Atomic<UInt64>(0)
    /// Packets owed but forgiven after a stall (see ``Worker``).
    let skipped = Atomic<UInt64>(0)
    let phase = Atomic<Int>(0)
    let done = Atomic<Bool>(false)
    // Written by the worker only, read after it is joined.
    var phaseSent: [UInt64]
    var phaseErrors: [UInt64]
    var phaseSkipped: [UInt64]
    var phaseEnd: [UInt64]
    var setupError: GeneratorError?
    var fatal: GeneratorError?

    init(phases: Int) {
        phaseSent = Array(repeating: 0, count: phases)
        phaseErrors = Array(repeating: 0, count: phases)
        phaseSkipped = Array(repeating: 0, count: phases)
        phaseEnd = Array(repeating: 0, count: phases)
    }
}

/// Sends a ``TrafficPlan`` out of an interface: a sender thread per core, each holding its share
/// of the phase rate, phases switching on the clock, counters sampled every second.
public final class TrafficGenerator: @unchecked Sendable {
    public let plan: TrafficPlan
    public let options: GeneratorOptions

    public init(plan: TrafficPlan, options: GeneratorOptions) {
        self.plan = plan
        self.options = options
    }

    /// Checks root, the namespace and the interface; returns the interface and the MACs.
    public func resolveEndpoints() throws(GeneratorError) -> (InterfaceInfo, MACAddress) {
        guard geteuid() == 0 else { throw .notRoot }
        let ns = options.namespace.map(NetworkNamespace.init)
        if let ns, !ns.exists { throw .noSuchNamespace(ns.name) }
        let info: InterfaceInfo
        do {
            info = try NetworkNamespace.run(in: ns) { try InterfaceInfo.lookup(options.interface, namespace: options.namespace) }
        } catch let e as GeneratorError { throw e } catch let e as NamespaceError { throw GeneratorError(e) } catch { throw .badArgument("\(error)") }
        guard info.isUp else { throw .interfaceDown(options.interface) }
        if let m = options.destinationMAC { return (info, m) }
        guard let m = Neighbours.resolve(interface: options.interface, namespace: options.namespace, peer: options.peer) else {
            throw .noDestinationMAC(options.interface)
        }
        return (info, m)
    }

    /// Runs the plan to its end, or until ``GeneratorStop/request()`` (which the CLI's SIGINT /
    /// SIGTERM handler sets). `progress` is called once a second from the calling thread.
    public func run(progress: ((SecondReport) -> Void)? = nil) throws(GeneratorError) -> GeneratorReport {
        try checkLimits()
        let (info, dstMAC) = try resolveEndpoints()
        let pools = try framePools(info: info, destination: dstMAC)
        let ns = options.namespace.map(NetworkNamespace.init)
        let cpus = Int(hg_online_cpus())
        let maxRate = plan.phases.map { $0.pps ?? .infinity }.max() ?? 0
        let threads = max(1, options.threads ?? (maxRate > 300_000 ? cpus : 1))
        let (engine, xdpProgram) = try chooseEngine(info: info, ns: ns, pools: pools, maxRate: maxRate)

        let boundaries = Self.phaseBoundaries(plan.phases)
        let workers = startWorkers(threads: threads, cpus: cpus, engine: engine, ifindex: info.index, ns: ns,
                                   xdpProgram: xdpProgram, pools: pools, boundaries: boundaries)
        try workers.waitUntilReady()
        let countersBefore = InterfaceCounters.read(interface: options.interface, namespace: options.namespace)
        let t0 = hg_now_ns() + 2_000_000
        // The same instant on the wall clock (what the filter's sample timestamps are in).
        let startWall = UInt64(Date().timeIntervalSince1970 * 1e9) &+ (t0 &- hg_now_ns())
        workers.start(at: t0)

        var sampler = SecondSampler(states: workers.states, phases: plan.phases, boundaries: boundaries, t0: t0,
                                    progress: progress)
        monitor(workers, sampler: &sampler, from: t0)
        workers.join()
        sampler.sample(final: true)
        let end = hg_now_ns()
        // A thread whose sends kept failing stopped the run: that is its error, not an interrupt.
        let interrupted = options.stop.requested && !workers.states.contains { $0.fatal != nil }
        // The peer's XDP ring drains in its NAPI poll: give the last frames a moment to count.
        usleep(20_000)
        let countersAfter = InterfaceCounters.read(interface: options.interface, namespace: options.namespace)
        let states = workers.states
        if let e = states.compactMap(\.fatal).first, !interrupted { throw e }

        let phaseReports = Self.phaseReports(plan.phases, states: states, t0: t0, boundaries: boundaries,
                                             interrupted: interrupted)
        let total = states.reduce(0) { $0 + $1.sent.load(ordering: .relaxed) }
        let errors = states.reduce(0) { $0 + $1.errors.load(ordering: .relaxed) }
        let skipped = states.reduce(0) { $0 + $1.skipped.load(ordering: .relaxed) }
        // A run stopped before its start time (2 ms ahead, later on a loaded machine) lasted 0 s,
        // not an overflow.
        let secs = end > t0 ? Double(end - t0) / 1e9 : 0
        let delivery = Delivery.measure(before: countersBefore, after: countersAfter, sent: total)
        return GeneratorReport(plan: plan.name, engine: engine, threads: threads, interface: info.name,
                               namespace: options.namespace, sourceMAC: "\(info.mac)", destinationMAC: "\(dstMAC)",
                               seconds: secs, sent: total, errors: errors, skipped: skipped, pps: secs > 0 ? Double(total) / secs : 0,
                               interrupted: interrupted, phases: phaseReports, perSecond: sampler.perSecond,
                               startedAtNs: startWall, delivered: delivery.delivered, txDropped: delivery.dropped)
    }

    /// Rejects out-of-range numbers first: they trap in the integer conversions of a run, or hang
    /// starting threads.
    private func checkLimits() throws(GeneratorError) {
        try GenerateLimits.check(plan)
        if let t = options.threads { _ = try GenerateLimits.threads(t) }
        _ = try GenerateLimits.xdpRepeat(options.settings.xdpRepeat)
    }

    /// One frame pool per phase, addressed from the interface to `destination`; every frame must
    /// fit the interface's MTU (plus Ethernet header and two VLAN tags) or the kernel drops it.
    private func framePools(info: InterfaceInfo, destination: MACAddress) throws(GeneratorError) -> [FramePool] {
        let pools = plan.phases.map { FramePool($0.packets, source: info.mac, destination: destination) }
        if let p = pools.first(where: { $0.maxLength > info.mtu + 14 + 8 }) {
            throw .badArgument("frames of \(p.maxLength) bytes do not fit the MTU \(info.mtu) of \(info.name): raise it with `ip link set \(info.name) mtu 9000`")
        }
        return pools
    }

    /// The engine asked for, else the first that works here, with the XDP program it needs (nil
    /// unless xdp-live). XDP live frames send copies of one frame per kernel call (each copy varied
    /// by the program), so a mix of many flows keeps its per-packet variety only on the socket
    /// engines: auto picks them when they can carry the rate.
    private func chooseEngine(info: InterfaceInfo, ns: NetworkNamespace?, pools: [FramePool],
                              maxRate: Double) throws(GeneratorError) -> (EngineKind, LiveFrameProgram?) {
        let probePool = pools.first { $0.count > 0 }
        if let e = options.engine {
            var program: LiveFrameProgram?
            if e == .xdpLive { program = try Self.loadLiveProgram(pools) }
            try probe(e, ifindex: info.index, ns: ns, xdpProgram: program, pool: probePool, strict: false)
            return (e, program)
        }
        let order = maxRate <= EngineKind.socketEngineRate ? [EngineKind.sendmmsg, .txring, .xdpLive] : EngineKind.preference
        for e in order {
            var program: LiveFrameProgram?
            do {
                if e == .xdpLive { program = try Self.loadLiveProgram(pools) }
                try probe(e, ifindex: info.index, ns: ns, xdpProgram: program, pool: probePool, strict: true)
                return (e, program)
            } catch {
                if error == .notRoot { throw error }
            }
        }
        throw .engineUnavailable(.sendmmsg, "no engine could send on \(info.name)")
    }

    /// Loads the xdp-live program with every phase's frame variations, back to back; each pool
    /// learns where its own start.
    private static func loadLiveProgram(_ pools: [FramePool]) throws(GeneratorError) -> LiveFrameProgram {
        let program = try LiveFrameProgram()
        var base: UInt32 = 0
        var all: [FrameVariation] = []
        for pool in pools {
            pool.variationBase = base
            all += pool.variations
            base += UInt32(pool.variations.count)
        }
        try program.setVariations(all)
        return program
    }

    /// Nanoseconds from the start at which each phase begins, and the plan's end last.
    private static func phaseBoundaries(_ phases: [PhasePlan]) -> [UInt64] {
        var out: [UInt64] = [0]
        var s = 0.0
        for p in phases { s += p.duration; out.append(UInt64((s * 1e9).rounded())) }
        return out
    }

    /// Starts one sender thread per `threads`: each enters the namespace, pins itself, opens its
    /// sender, reports ready, then waits for the common start before sending its share.
    private func startWorkers(threads: Int, cpus: Int, engine: EngineKind, ifindex: Int32, ns: NetworkNamespace?,
                              xdpProgram: LiveFrameProgram?, pools: [FramePool], boundaries: [UInt64]) -> WorkerGroup {
        let group = WorkerGroup(states: (0..<threads).map { _ in WorkerState(phases: plan.phases.count) }, stop: options.stop)
        let ready = group.ready, finished = group.finished, startBox = group.startBox
        let settings = options.settings
        let pin = options.pinThreads
        let phases = plan.phases
        for t in 0..<threads {
            let state = group.states[t]
            let thread = Thread {
                defer { state.done.store(true, ordering: .releasing); finished.signal() }
                var sender: (any FrameSender)?
                do {
                    if let ns { try ns.enterSender() }
                    if pin { _ = hg_pin_cpu(Int32(t % max(cpus, 1))) }
                    sender = try settings.make(engine, ifindex: ifindex, xdpProgram: xdpProgram)
                } catch let e as GeneratorError {
                    state.setupError = e
                } catch {
                    state.setupError = .badArgument("\(error)")
                }
                ready.signal()
                guard let sender else { return }
                defer { sender.close() }
                while !startBox.go.load(ordering: .acquiring) { usleep(200) }
                if group.stop.requested { return }
                Worker.run(sender: sender, state: state, stop: group.stop, thread: t, threads: threads, phases: phases, pools: pools,
                           start: startBox.start.load(ordering: .acquiring), boundaries: boundaries)
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        return group
    }

    /// Samples a report a second until every worker is done, or until a stop is requested (then
    /// waits for the workers, which see the flag within a batch).
    private func monitor(_ workers: WorkerGroup, sampler: inout SecondSampler, from t0: UInt64) {
        var next = t0 + 1_000_000_000
        while true {
            if workers.allDone { break }
            if workers.stop.requested {
                workers.waitUntilAllDone()
                break
            }
            let now = hg_now_ns()
            if now >= next {
                sampler.sample(final: false)
                next += 1_000_000_000
            }
            usleep(10_000)
        }
    }

    /// Per phase, the workers' counts summed and its rate over the time actually spent in it; an
    /// interrupted run leaves out the phases it never reached.
    private static func phaseReports(_ phases: [PhasePlan], states: [WorkerState], t0: UInt64, boundaries: [UInt64],
                                     interrupted: Bool) -> [PhaseReport] {
        var reports: [PhaseReport] = []
        for (k, p) in phases.enumerated() {
            let sent = states.reduce(0) { $0 + $1.phaseSent[k] }
            let errors = states.reduce(0) { $0 + $1.phaseErrors[k] }
            let skipped = states.reduce(0) { $0 + $1.phaseSkipped[k] }
            let phaseEnd = states.map { $0.phaseEnd[k] }.max() ?? 0
            let begin = t0 + boundaries[k]
            let secs = phaseEnd > begin ? Double(phaseEnd - begin) / 1e9 : 0
            if secs == 0 && sent == 0 && interrupted { continue }
            reports.append(PhaseReport(name: p.name, seconds: secs, targetPPS: p.pps, sent: sent, errors: errors,
                                       skipped: skipped, pps: secs > 0 ? Double(sent) / secs : 0))
        }
        return reports
    }

    /// Opens the engine on a short-lived thread in the namespace and sends a few frames. With
    /// `strict`, an XDP engine must also show the frames leaving (a veth whose peer cannot take
    /// XDP frames drops them silently).
    func probe(_ kind: EngineKind, ifindex: Int32, ns: NetworkNamespace?, xdpProgram: LiveFrameProgram?, pool: FramePool?,
               strict: Bool) throws(GeneratorError) {
        guard let pool else { return }
        let box = ProbeBox()
        let done = DispatchSemaphore(value: 0)
        let iface = options.interface, nsName = options.namespace
        let settings = options.settings
        let t = Thread {
            defer { done.signal() }
            do {
                if let ns { try ns.enterSender() }
                let s = try settings.make(kind, ifindex: ifindex, xdpProgram: xdpProgram)
                defer { s.close() }
                guard strict else { return }
                let before = InterfaceCounters.read(interface: iface, namespace: nsName)
                var cursor = FrameCursor(pool: pool, start: 0, seed: 99)
                var sent = 0
                for _ in 0..<4 {
                    let r = s.transmit(count: 16) { cursor.write(into: $0) }
                    if let f = r.fatal { throw GeneratorError.engineUnavailable(kind, String(cString: strerror(f))) }
                    sent += r.sent
                }
                usleep(20_000)
                let after = InterfaceCounters.read(interface: iface, namespace: nsName)
                if let b = before, let a = after {
                    let out = a.txPackets &- b.txPackets, dropped = a.txDropped &- b.txDropped
                    if sent == 0 || out < UInt64(sent) / 2 || dropped > 0 {
                        throw GeneratorError.engineUnavailable(kind, "frames do not leave \(iface) (sent \(sent), left \(out), dropped \(dropped))")
                    }
                }
            } catch let e as GeneratorError {
                box.error = e
            } catch {
                box.error = .badArgument("\(error)")
            }
        }
        t.start()
        done.wait()
        if let e = box.error { throw e }
    }
}

/// The sender threads of one run and the handshake that starts them together.
struct WorkerGroup {
    let states: [WorkerState]
    let stop: GeneratorRunStop
    let ready = DispatchSemaphore(value: 0)
    let finished = DispatchSemaphore(value: 0)
    let startBox = StartBox()

    /// Waits until every thread has opened its sender. If one could not, the others are released
    /// with the stop flag set (so they send nothing), joined, and the first error is thrown.
    func waitUntilReady() throws(GeneratorError) {
        for _ in states { ready.wait() }
        if let e = states.compactMap(\.setupError).first {
            // This run's flag: a failed setup must not stop other runs of the process (a test's
            // expected failure once interrupted the generators of tests running beside it).
            stop.request()
            startBox.go.store(true, ordering: .releasing)
            join()
            throw e
        }
    }

    /// Releases the threads; each sleeps until `t0` so they begin together.
    func start(at t0: UInt64) {
        startBox.start.store(t0, ordering: .releasing)
        startBox.go.store(true, ordering: .releasing)
    }

    var allDone: Bool { states.allSatisfy { $0.done.load(ordering: .acquiring) } }

    func waitUntilAllDone() {
        for s in states { while !s.done.load(ordering: .acquiring) { usleep(1000) } }
    }

    /// Waits for every thread's exit.
    func join() {
        for _ in states { finished.wait() }
    }
}

/// The once-a-second reports of a run: the workers' counters summed, each interval named for the
/// phase its midpoint falls in.
struct SecondSampler {
    let states: [WorkerState]
    let phases: [PhasePlan]
    let boundaries: [UInt64]
    let t0: UInt64
    let progress: ((SecondReport) -> Void)?
    private(set) var perSecond: [SecondReport] = []
    private var lastSent: UInt64 = 0, lastErrors: UInt64 = 0, lastT: UInt64
    private var second = 0

    init(states: [WorkerState], phases: [PhasePlan], boundaries: [UInt64], t0: UInt64,
         progress: ((SecondReport) -> Void)?) {
        self.states = states
        self.phases = phases
        self.boundaries = boundaries
        self.t0 = t0
        self.progress = progress
        lastT = t0
    }

    /// Records the interval since the last sample; the `final` one is skipped when it is too
    /// short to mean anything and nothing was sent in it.
    mutating func sample(final: Bool) {
        let now = hg_now_ns()
        let sent = states.reduce(0) { $0 + $1.sent.load(ordering: .relaxed) }
        let errors = states.reduce(0) { $0 + $1.errors.load(ordering: .relaxed) }
        let elapsed = Double(now &- lastT) / 1e9
        if final && elapsed < 0.05 && sent == lastSent { return }
        second += 1
        let mid = (lastT / 2 + now / 2)
        let rel = mid > t0 ? mid - t0 : 0
        let k = min(phases.count - 1, max(0, boundaries.lastIndex { $0 <= rel } ?? 0))
        let r = SecondReport(second: second, phase: phases.isEmpty ? "" : phases[k].name, sent: sent - lastSent,
                             errors: errors - lastErrors, pps: elapsed > 0 ? Double(sent - lastSent) / elapsed : 0,
                             totalSent: sent)
        perSecond.append(r)
        progress?(r)
        lastSent = sent; lastErrors = errors; lastT = now
    }
}

final class ProbeBox: @unchecked Sendable { var error: GeneratorError? }

final class StartBox: Sendable {
    let start = Atomic<UInt64>(0)
    let go = Atomic<Bool>(false)
}

/// The generator's stop flag, process-wide: every run's workers check it once a batch and finish
/// with a report (``GeneratorReport/interrupted``); a worker whose sends keep failing sets it too.
/// The library installs no signal handlers: the CLI's lifecycle (`holon generate`) turns SIGINT
/// and SIGTERM into this flag.
/// One run's stop flag (``GeneratorOptions/stop``); it also reads the process-wide one.
public final class GeneratorRunStop: Sendable {
    private let flag = Atomic<Bool>(false)
    public init() {}
    /// Asks this run to stop: its workers finish their batch and it returns its report.
    public func request() { flag.store(true, ordering: .releasing) }
    /// This run's flag or the process's (``GeneratorStop``).
    public var requested: Bool { flag.load(ordering: .acquiring) || hg_stop_requested() != 0 }
}

public enum GeneratorStop {
    public static var requested: Bool { hg_stop_requested() != 0 }
    public static func request() { hg_request_stop() }
    public static func clear() { hg_clear_stop() }
}
