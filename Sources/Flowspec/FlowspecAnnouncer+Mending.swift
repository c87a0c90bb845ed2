import Foundation
import Packets
import Rules

/// What keeps the routes true to the rules when things go wrong around the announcer: the
/// routes a killed run left (the ledger), a speaker that forgot or refused (the check), and
/// rules the ceiling held back (announced when a route leaves).
extension FlowspecAnnouncer {
    /// Takes over the routes an earlier run left at the speaker (its ledger): those of rules
    /// still in a filter (`keeping`) stay, until the loop announces those rules again (their
    /// routes then replaced in place) or they retire; every other one is withdrawn now, as
    /// its rule is gone, and all are while observing. Call before anything else is announced.
    public func inherit(keeping: Set<UInt32>) {
        queue.async { [self] in
            guard let ledger else { return }
            let left: [UInt32: FlowspecRule]
            do throws(FlowspecError) { left = try ledger.load() } catch {
                warn("\(error.description): routes an earlier run left announced, if any, are not withdrawn")
                return
            }
            lock.withLock { for (id, r) in left { live[id] = r } }
            // Observing (Flowspec's own observe at start): nothing may stay announced.
            let observingNow = observing
            for id in left.keys.sorted() where observingNow || !keeping.contains(id) { withdrawNow(id) }
            saveLedger()
        }
    }

    /// Writes what is announced now to the ledger (on `queue`).
    func saveLedger() {
        guard let ledger else { return }
        do throws(FlowspecError) {
            try ledger.save(lock.withLock { live })
            if ledgerFailing { warn("\(ledger.path) is written again") }
            ledgerFailing = false
        } catch {
            if !ledgerFailing { warn("\(error.description): a run that ends without withdrawing leaves routes the next run cannot find") }
            ledgerFailing = true
        }
    }

    /// ``reconcile()`` at most once every `interval` (the live loop calls this at each heartbeat).
    public func reconcileIfDue(every interval: Duration = .seconds(10)) {
        let now = ContinuousClock.now
        let due = lock.withLock { () -> Bool in
            guard lastReconcile.map({ now - $0 >= interval }) ?? true else { return false }
            lastReconcile = now
            return true
        }
        if due { reconcile() }
    }

    /// Checks the speaker still announces what this announcer believes it does, and mends what
    /// it finds: a speaker restarted (gobgpd forgets its routes) left the routers without
    /// them while Holon reported them announced; a rule whose announcement failed (the speaker
    /// was down) is announced again. Said through `warn`. Speakers that cannot be read back
    /// (an ExaBGP feed) get the retries alone. Returns at once; the check runs in the background.
    public func reconcile() {
        queue.async { [self] in
            guard !observing else { return }
            let failed = lock.withLock { table.values.filter { $0.state == .failed }.map(\.ruleID) }
            batch {
                for id in failed.sorted() {
                    let announced = lock.withLock { live[id] != nil }
                    if let rule = current[id], !announced { announceNow(rule, baseline: lastBaseline) }
                    if current[id] == nil, announced { withdrawNow(id) }   // its withdrawal failed
                }
            }
            let held: [FlowspecRule]
            do throws(FlowspecError) {
                guard let h = try speaker.announced() else { return }
                held = h
            } catch {
                return   // a speaker that does not answer: the next check tries again
            }
            var lost: [UInt32] = []
            let believed: [UInt32: FlowspecRule] = lock.withLock { live }
            for (id, fs) in believed.sorted(by: { $0.key < $1.key }) {
                if held.contains(where: { $0.sameMatch(fs) }) { continue }
                do throws(FlowspecError) {
                    try speaker.announce(fs)
                    lost.append(id)
                } catch {
                    record(Announcement(ruleID: id, state: .failed, detail: "the speaker no longer announces it, and announcing it again failed: \(error.description)", widened: []))
                }
            }
            if !lost.isEmpty {
                warn("the speaker no longer announced \(lost.count) route(s) Holon had given it (restarted?): announced again for rule(s) \(lost.map(String.init).joined(separator: ", "))")
            }
        }
    }

    /// Rules the ceiling refused, in id order (the oldest first), while there is room (on `queue`).
    func announceWaiting() {
        batch {
            for id in waitingForRoom.sorted() {
                guard !observing, lock.withLock({ live.count }) < policy.maxAnnounced else { return }
                guard let rule = current[id] else {
                    waitingForRoom.remove(id)
                    continue
                }
                announceNow(rule, baseline: lastBaseline)
            }
        }
    }
}
